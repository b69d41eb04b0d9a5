package main

import (
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"backend-protocols/internal/kernel"
)

// queued returns the bytes waiting in c's receive queue (SIOCINQ).
func queued(c net.Conn) (n int, err error) {
	cerr := kernel.Control(c.(*net.TCPConn), func(fd int) error {
		n, err = kernel.InQueue(fd)
		return err
	})
	if cerr != nil {
		return 0, cerr
	}
	return n, err
}

// tcpInfo returns the kernel's TCP_INFO for c.
func tcpInfo(c net.Conn) (info *unix.TCPInfo, err error) {
	cerr := kernel.Control(c.(*net.TCPConn), func(fd int) error {
		info, err = kernel.TCPInfo(fd)
		return err
	})
	if cerr != nil {
		return nil, cerr
	}
	return info, err
}

// socketState looks a connection up in /proc/net/tcp by its local and
// remote address and returns its state, or "" if the kernel holds no
// socket for it (not even in TIME_WAIT).
func socketState(local, remote netip.AddrPort) (string, error) {
	s, ok, err := kernel.Lookup(local, remote)
	if err != nil || !ok {
		return "", err
	}
	return s.State.String(), nil
}

// addrPort returns a net.Addr of a TCP connection as a netip.AddrPort.
func addrPort(a net.Addr) netip.AddrPort {
	ap := a.(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
