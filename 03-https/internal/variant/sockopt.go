package variant

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// fastOpenQueue is the listener's TCP_FASTOPEN value: how many
// connections may wait in SYN-RECV with data not yet acknowledged.
const fastOpenQueue = 16

// Fast Open's socket options (RFC 7413; linux/tcp.h): on a listener,
// accept data in SYNs; on a client socket, send the first write's data in
// the SYN when the kernel holds a cookie for the server.
var (
	fastOpenListen  = tcpOpt(unix.TCP_FASTOPEN, fastOpenQueue)
	fastOpenConnect = tcpOpt(unix.TCP_FASTOPEN_CONNECT, 1)
)

// tcpOpt returns a function that sets the IPPROTO_TCP option opt to v on
// a socket; it is a lab.SockOpt.
func tcpOpt(opt, v int) func(fd int) error {
	return func(fd int) error { return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, opt, v) }
}

// rawControl adapts a socket option to a net.Dialer's or
// net.ListenConfig's Control.
func rawControl(set func(fd int) error) func(string, string, syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) { err = set(int(fd)) }); cerr != nil {
			return cerr
		}
		return err
	}
}
