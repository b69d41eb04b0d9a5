package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// control runs f on the socket under c.
func control(c net.Conn, f func(fd int) error) error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("not a TCP connection: %T", c)
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// queued returns the bytes waiting in c's receive queue (SIOCINQ).
func queued(c net.Conn) (int, error) {
	var n int
	err := control(c, func(fd int) error {
		var err error
		n, err = unix.IoctlGetInt(fd, unix.SIOCINQ)
		return err
	})
	return n, err
}

// tcpInfo returns the kernel's TCP_INFO for c.
func tcpInfo(c net.Conn) (*unix.TCPInfo, error) {
	var info *unix.TCPInfo
	err := control(c, func(fd int) error {
		var err error
		info, err = unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		return err
	})
	return info, err
}

// tcpStates names the states /proc/net/tcp reports, from the kernel's
// include/net/tcp_states.h.
var tcpStates = map[int]string{
	1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1",
	5: "FIN_WAIT2", 6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT",
	9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}

// socketState looks a connection up in /proc/net/tcp by its local and
// remote address and returns its state, or "" if the kernel holds no
// socket for it (not even in TIME_WAIT).
func socketState(local, remote netip.AddrPort) (string, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header line
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 {
			continue
		}
		l, err1 := procAddr(fields[1])
		r, err2 := procAddr(fields[2])
		if err1 != nil || err2 != nil || l != local || r != remote {
			continue
		}
		st, err := strconv.ParseInt(fields[3], 16, 0)
		if err != nil {
			return "", err
		}
		if name, ok := tcpStates[int(st)]; ok {
			return name, nil
		}
		return fmt.Sprintf("state %d", st), nil
	}
	return "", sc.Err()
}

// procAddr parses /proc/net/tcp's "0100007F:1F90": the IPv4 address as a
// 32-bit number printed in the machine's byte order, then the port.
func procAddr(s string) (netip.AddrPort, error) {
	ip, port, ok := strings.Cut(s, ":")
	if !ok || len(ip) != 8 {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	raw, err := hex.DecodeString(ip)
	if err != nil {
		return netip.AddrPort{}, err
	}
	var a [4]byte
	binary.NativeEndian.PutUint32(a[:], binary.BigEndian.Uint32(raw))
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(netip.AddrFrom4(a), uint16(p)), nil
}

// addrPort returns a net.Addr of a TCP connection as a netip.AddrPort.
func addrPort(a net.Addr) netip.AddrPort {
	ap := a.(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
