// Package kernel reads what the Linux kernel says about sockets and
// processes: the TCP table of /proc/net/tcp (socket states, accept and
// receive queues), the counters of /proc/net/netstat and snmp, a socket's
// SIOCINQ, SIOCOUTQ and TCP_INFO, getrusage, open descriptors and where a
// thread sleeps. Files under /proc/thread-self/net are read, so a thread
// moved into another network namespace reads that namespace's view.
package kernel

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
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel's own view of sockets. Files under /proc/thread-self/net
// describe the network namespace of the calling thread, which is the
// process's namespace unless a locked thread moved into another one.
const procNet = "/proc/thread-self/net/"

// TCPState is a socket state as /proc/net/tcp numbers it.
type TCPState int

// The states chapter 4 looks at (include/net/tcp_states.h).
const (
	StateEstablished TCPState = 0x01
	StateSynSent     TCPState = 0x02
	StateSynRecv     TCPState = 0x03
	StateTimeWait    TCPState = 0x06
	StateClose       TCPState = 0x07
	StateCloseWait   TCPState = 0x08
	StateListen      TCPState = 0x0A
)

func (s TCPState) String() string {
	names := map[TCPState]string{
		StateEstablished: "ESTABLISHED", StateSynSent: "SYN_SENT",
		StateSynRecv: "SYN_RECV", 0x04: "FIN_WAIT1", 0x05: "FIN_WAIT2",
		StateTimeWait: "TIME_WAIT", StateClose: "CLOSE",
		StateCloseWait: "CLOSE_WAIT", 0x09: "LAST_ACK",
		StateListen: "LISTEN", 0x0B: "CLOSING", 0x0C: "NEW_SYN_RECV",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Socket is one line of /proc/net/tcp or /proc/net/tcp6. For a listening
// socket RxQueue is its accept queue: connections the handshake finished
// and nobody has accepted yet. For a connection RxQueue is the bytes
// received and not yet read, TxQueue the bytes sent and not yet acked.
// Request sockets (the SYN queue) appear with state SYN_RECV.
type Socket struct {
	Local, Remote    netip.AddrPort
	State            TCPState
	TxQueue, RxQueue int
	Inode            uint64
}

// TCPTable reads every TCP socket of the calling thread's namespace.
func TCPTable() ([]Socket, error) {
	var all []Socket
	for _, f := range []string{"tcp", "tcp6"} {
		s, err := readTCPFile(procNet + f)
		if err != nil {
			return nil, err
		}
		all = append(all, s...)
	}
	return all, nil
}

func readTCPFile(path string) ([]Socket, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Socket
	sc := bufio.NewScanner(f)
	sc.Scan() // the header line
	for sc.Scan() {
		s, err := parseTCPLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// AcceptQueue finds the listening sockets bound to addr in /proc/net/tcp
// and returns the accept queue of the one with inode ino (of the first, if
// ino is 0) and how many there are (several with SO_REUSEPORT).
func AcceptQueue(addr netip.AddrPort, ino uint64) (queue, listeners int, err error) {
	tab, err := TCPTable()
	if err != nil {
		return 0, 0, err
	}
	found := false
	for _, s := range tab {
		if s.State != StateListen || s.Local != addr {
			continue
		}
		listeners++
		if !found && (ino == 0 || s.Inode == ino) {
			queue, found = s.RxQueue, true
		}
	}
	if !found {
		return 0, listeners, fmt.Errorf("no listener %v (inode %d) in /proc/net/tcp", addr, ino)
	}
	return queue, listeners, nil
}

// parseTCPLine parses
//
//	0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 ...
//
// sl, local, remote, st, tx_queue:rx_queue, tr:when, retrnsmt, uid,
// timeout, inode.
func parseTCPLine(line string) (Socket, error) {
	f := strings.Fields(line)
	if len(f) < 10 {
		return Socket{}, fmt.Errorf("short line %q", line)
	}
	var s Socket
	var err error
	if s.Local, err = parseProcAddr(f[1]); err != nil {
		return s, err
	}
	if s.Remote, err = parseProcAddr(f[2]); err != nil {
		return s, err
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return s, err
	}
	s.State = TCPState(st)
	tx, rx, ok := strings.Cut(f[4], ":")
	if !ok {
		return s, fmt.Errorf("bad queues %q", f[4])
	}
	t, err1 := strconv.ParseUint(tx, 16, 32)
	r, err2 := strconv.ParseUint(rx, 16, 32)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("bad queues %q", f[4])
	}
	s.TxQueue, s.RxQueue = int(t), int(r)
	s.Inode, _ = strconv.ParseUint(f[9], 10, 64)
	return s, nil
}

// parseProcAddr parses "0100007F:1F90": the address as the kernel holds it
// in memory (32-bit words in host order, little-endian here) and the port.
func parseProcAddr(s string) (netip.AddrPort, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	raw, err := hex.DecodeString(h)
	if err != nil || len(raw) != 4 && len(raw) != 16 {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		w := binary.LittleEndian.Uint32(raw[i:])
		binary.BigEndian.PutUint32(raw[i:], w)
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// Netstat reads the kernel's TCP and IP counters from /proc/net/netstat
// and /proc/net/snmp, keyed "TcpExt:ListenOverflows", "Tcp:ActiveOpens"
// and so on. They count for the whole namespace, every process in it.
func Netstat() (map[string]int64, error) {
	out := make(map[string]int64)
	for _, f := range []string{"netstat", "snmp"} {
		b, err := os.ReadFile(procNet + f)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		// Lines come in pairs: "TcpExt: Name1 Name2", "TcpExt: 1 2".
		for i := 0; i+1 < len(lines); i += 2 {
			names := strings.Fields(lines[i])
			values := strings.Fields(lines[i+1])
			if len(names) != len(values) || len(names) == 0 {
				continue
			}
			prefix := names[0]
			for j := 1; j < len(names); j++ {
				v, err := strconv.ParseInt(values[j], 10, 64)
				if err == nil {
					out[prefix+names[j]] = v
				}
			}
		}
	}
	return out, nil
}

// InQueue returns the bytes in fd's receive queue that the application has
// not read (ioctl SIOCINQ).
func InQueue(fd int) (int, error) { return unix.IoctlGetInt(fd, unix.SIOCINQ) }

// OutQueue returns the bytes in fd's send queue: written by the
// application and not yet acknowledged by the peer (ioctl SIOCOUTQ).
func OutQueue(fd int) (int, error) { return unix.IoctlGetInt(fd, unix.SIOCOUTQ) }

// TCPInfo returns the kernel's TCP_INFO for a connected socket.
func TCPInfo(fd int) (*unix.TCPInfo, error) {
	return unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
}

// Usage is what getrusage(2) reports: CPU time, context switches, peak
// resident memory.
type Usage struct {
	User, System time.Duration
	// Voluntary context switches: the thread slept (a blocking call).
	// Involuntary ones: the scheduler took the CPU away.
	Voluntary, Involuntary int64
	MaxRSS                 int64 // bytes; for RUSAGE_CHILDREN the largest child
}

// CPU returns user plus system time.
func (u Usage) CPU() time.Duration { return u.User + u.System }

// Sub returns u minus an earlier reading (MaxRSS stays u's).
func (u Usage) Sub(v Usage) Usage {
	return Usage{User: u.User - v.User, System: u.System - v.System,
		Voluntary:   u.Voluntary - v.Voluntary,
		Involuntary: u.Involuntary - v.Involuntary, MaxRSS: u.MaxRSS}
}

// GetUsage calls getrusage(who): unix.RUSAGE_SELF (the process),
// unix.RUSAGE_THREAD (the calling thread, which should be locked to its
// goroutine) or unix.RUSAGE_CHILDREN (children waited for).
func GetUsage(who int) (Usage, error) {
	var r unix.Rusage
	if err := unix.Getrusage(who, &r); err != nil {
		return Usage{}, err
	}
	return Usage{
		User:        time.Duration(r.Utime.Nano()),
		System:      time.Duration(r.Stime.Nano()),
		Voluntary:   r.Nvcsw,
		Involuntary: r.Nivcsw,
		MaxRSS:      r.Maxrss << 10,
	}, nil
}

// FDBaseline makes the Go runtime open the descriptors it keeps for
// itself (its netpoller's epoll and eventfd) and then counts the open
// ones, so that a test can compare OpenFDs after a server has stopped.
func FDBaseline() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	ln.Close()
	return OpenFDs()
}

// OpenFDs counts this process's open descriptors (/proc/self/fd), for
// tests that check a server closed all of its own.
func OpenFDs() (int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	return len(ents) - 1, nil // minus the one ReadDir itself had open
}

// WaitChannel returns where in the kernel a thread of this process sleeps
// (/proc/self/task/TID/wchan): "ep_poll" for a thread in epoll_wait, "0"
// for one that is running.
func WaitChannel(tid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/wchan", tid))
	return string(b), err
}

// SocketInode returns the inode of a socket descriptor, which names the
// socket in /proc/net/tcp when several share one address (SO_REUSEPORT).
func SocketInode(fd int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// Control runs f with the descriptor of a connection or listener from the
// net package, for the readers above that take a descriptor.
func Control(c syscall.Conn, f func(fd int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// Lookup returns the socket of the TCP table with the given local and
// remote addresses, and false if the kernel holds none (not even in
// TIME_WAIT).
func Lookup(local, remote netip.AddrPort) (Socket, bool, error) {
	table, err := TCPTable()
	if err != nil {
		return Socket{}, false, err
	}
	for _, s := range table {
		if s.Local == local && s.Remote == remote {
			return s, true, nil
		}
	}
	return Socket{}, false, nil
}
