package rawnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ListenConfig says how Listen sets up a listening socket.
type ListenConfig struct {
	// Backlog is listen(2)'s backlog: how many established connections
	// the kernel queues for accept. Zero means SOMAXCONN. The kernel caps
	// it at net.core.somaxconn.
	Backlog int
	// ReusePort sets SO_REUSEPORT, so several sockets can listen on one
	// port and the kernel spreads connections among them.
	ReusePort bool
	// Blocking leaves the socket blocking, for an acceptor thread that
	// sleeps in accept4; otherwise it is non-blocking, for epoll.
	Blocking bool
}

// Listener is a listening TCP socket: its descriptor and address. Close
// it only after every thread that accepts on it has stopped.
type Listener struct {
	fd      int
	addr    netip.AddrPort
	backlog int
	once    sync.Once
	err     error
}

// Listen does what a server does before its first accept: socket(2),
// setsockopt(SO_REUSEADDR [, SO_REUSEPORT]), bind(2) and listen(2). addr
// is "host:port"; port 0 picks a free port.
func Listen(addr string, cfg ListenConfig) (*Listener, error) {
	sa, family, err := resolve(addr)
	if err != nil {
		return nil, err
	}
	typ := unix.SOCK_STREAM | unix.SOCK_CLOEXEC
	if !cfg.Blocking {
		typ |= unix.SOCK_NONBLOCK
	}
	fd, err := unix.Socket(family, typ, unix.IPPROTO_TCP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	fail := func(step string, err error) (*Listener, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s %s: %w", step, addr, err)
	}
	// SO_REUSEADDR lets a restarted server bind while old connections
	// of the port sit in TIME_WAIT.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("SO_REUSEADDR", err)
	}
	if cfg.ReusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail("SO_REUSEPORT", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	backlog := cfg.Backlog
	if backlog <= 0 {
		backlog = unix.SOMAXCONN
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail("listen", err)
	}
	local, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	return &Listener{fd: fd, addr: addrPort(local), backlog: backlog}, nil
}

// FD returns the listening socket's descriptor.
func (l *Listener) FD() int { return l.fd }

// Addr returns the address the socket is bound to.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Backlog returns the backlog given to listen(2).
func (l *Listener) Backlog() int { return l.backlog }

// Shutdown wakes every thread blocked in accept4 on the socket (they get
// EINVAL) and makes the kernel refuse new connections. Closing the
// descriptor would not wake them.
func (l *Listener) Shutdown() error {
	return unix.Shutdown(l.fd, unix.SHUT_RDWR)
}

// Close closes the descriptor. Connections still in its accept queue are
// reset. It is safe to call more than once.
func (l *Listener) Close() error {
	l.once.Do(func() { l.err = unix.Close(l.fd) })
	return l.err
}

// Accept waits in accept4(2) on a blocking listener and returns a
// non-blocking descriptor for the next connection and its peer. It retries
// on EINTR and ECONNABORTED (a connection reset while queued).
func (l *Listener) Accept() (int, netip.AddrPort, error) {
	for {
		fd, sa, err := unix.Accept4(l.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
			continue
		}
		if err != nil {
			return -1, netip.AddrPort{}, err
		}
		return fd, addrPort(sa), nil
	}
}

// DialConfig sets socket options before connect(2).
type DialConfig struct {
	// SynCount sets TCP_SYNCNT: how many times the kernel retransmits an
	// unanswered SYN before connect fails (the default, 6, takes over a
	// minute). Zero leaves the default.
	SynCount int
	// RcvBuf and SndBuf set SO_RCVBUF and SO_SNDBUF (the kernel doubles
	// the value for its bookkeeping). Zero leaves autotuning on.
	RcvBuf, SndBuf int
	// MSS sets TCP_MAXSEG, the largest segment to send and to announce
	// in the SYN (loopback's own is about 64 KiB; Ethernet's is 1460).
	MSS int
	// Nagle leaves Nagle's algorithm on; otherwise TCP_NODELAY is set,
	// as Go's net package does.
	Nagle bool
}

// Connect starts a non-blocking connect(2) to addr and returns the
// descriptor at once; the handshake may still be in flight (EINPROGRESS).
// WaitConnected finishes it.
func Connect(addr string, cfg DialConfig) (int, error) {
	sa, family, err := resolve(addr)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Socket(family,
		unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	opts := []struct {
		level, opt, v int
		set           bool
	}{
		{unix.IPPROTO_TCP, unix.TCP_SYNCNT, cfg.SynCount, cfg.SynCount > 0},
		{unix.SOL_SOCKET, unix.SO_RCVBUF, cfg.RcvBuf, cfg.RcvBuf > 0},
		{unix.SOL_SOCKET, unix.SO_SNDBUF, cfg.SndBuf, cfg.SndBuf > 0},
		{unix.IPPROTO_TCP, unix.TCP_MAXSEG, cfg.MSS, cfg.MSS > 0},
		{unix.IPPROTO_TCP, unix.TCP_NODELAY, 1, !cfg.Nagle},
	}
	for _, o := range opts {
		if !o.set {
			continue
		}
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("setsockopt %d: %w", o.opt, err)
		}
	}
	err = unix.Connect(fd, sa)
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return -1, fmt.Errorf("connect %s: %w", addr, err)
	}
	return fd, nil
}

// WaitConnected waits up to timeout for a connect started by Connect to
// finish, and returns its outcome (SO_ERROR). It blocks the calling
// thread in poll(2).
func WaitConnected(fd int, timeout time.Duration) error {
	if err := WaitFD(fd, unix.POLLOUT, timeout); err != nil {
		return err
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if soerr != 0 {
		return unix.Errno(soerr)
	}
	return nil
}

// ErrTimeout is returned by WaitFD when the descriptor did not become
// ready in time.
var ErrTimeout = errors.New("rawnet: timed out")

// WaitFD waits in poll(2) up to timeout for fd to have one of events
// (unix.POLLIN, unix.POLLOUT).
func WaitFD(fd int, events int16, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return ErrTimeout
		}
		p := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(p, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
}

// resolve turns "host:port" into a sockaddr and its address family.
func resolve(addr string) (unix.Sockaddr, int, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, 0, err
	}
	ap := ta.AddrPort()
	ip := ap.Addr().Unmap()
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	if ip.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()},
			unix.AF_INET, nil
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()},
		unix.AF_INET6, nil
}

// addrPort converts a sockaddr from the kernel.
func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// Peer returns the address at the other end of a connected descriptor.
func Peer(fd int) netip.AddrPort {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return netip.AddrPort{}
	}
	return addrPort(sa)
}

// Local returns the address a descriptor is bound to.
func Local(fd int) netip.AddrPort {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}
	}
	return addrPort(sa)
}
