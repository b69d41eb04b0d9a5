package lab

import (
	"context"
	"net"
	"net/netip"
	"syscall"

	"backend-protocols/internal/netem"
)

// SockOpt sets an option on a socket before it listens or connects, such
// as TCP_FASTOPEN; it gets the socket's file descriptor.
type SockOpt func(fd int) error

// control applies opts through a net.ListenConfig or net.Dialer Control.
func control(opts []SockOpt) func(string, string, syscall.RawConn) error {
	if len(opts) == 0 {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			for _, o := range opts {
				if err = o(int(fd)); err != nil {
					return
				}
			}
		})
		if cerr != nil {
			return cerr
		}
		return err
	}
}

// ListenTCP listens on the server host at port 0 with opts applied to the
// socket, and returns the listener and the address the client dials: the
// listener's own, or on loopback a relay's that delays both directions
// and records what each side writes. Closing the listener closes the relay.
func (l *Lab) ListenTCP(opts ...SockOpt) (net.Listener, string, error) {
	lc := net.ListenConfig{Control: control(opts)}
	if l.Emulated() {
		var ln net.Listener
		err := l.do(Server, func() (err error) {
			ln, err = lc.Listen(context.Background(), "tcp", l.serverAddr())
			return err
		})
		if err != nil {
			return nil, "", err
		}
		return ln, ln.Addr().String(), nil
	}
	ln, err := lc.Listen(context.Background(), "tcp", l.serverAddr())
	if err != nil {
		return nil, "", err
	}
	up, down := l.paths()
	r, err := netem.NewTCPRelay(loopbackAny, ln.Addr().String(), up, down)
	if err != nil {
		ln.Close()
		return nil, "", err
	}
	return &relayListener{Listener: ln, relay: r, c: l.cap},
		r.Addr().String(), nil
}

// relayListener is a loopback listener behind a relay.
type relayListener struct {
	net.Listener
	relay *netem.TCPRelay
	c     *capture
}

func (r *relayListener) Accept() (net.Conn, error) {
	c, err := r.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tcpConn{Conn: c, c: r.c}, nil
}

func (r *relayListener) Close() error {
	err := r.Listener.Close()
	r.relay.Close()
	return err
}

// DialTCP connects from the client host to addr with opts applied to the
// socket first. On the emulated path the result is a *net.TCPConn.
func (l *Lab) DialTCP(ctx context.Context, addr string, opts ...SockOpt) (net.Conn, error) {
	d := net.Dialer{Control: control(opts)}
	var c net.Conn
	err := l.do(Client, func() (err error) {
		c, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	if err != nil || l.Emulated() {
		return c, err
	}
	return &tcpConn{Conn: c, c: l.cap, up: true}, nil
}

// ListenUDP opens a UDP socket on the server host at port 0 and returns
// it with the address clients send to: its own, or on loopback a UDP
// relay's, which applies the path's delay and loss (and which Close of the
// lab closes). It is a *net.UDPConn, as QUIC engines want; on loopback
// nothing records the datagrams, so a QUIC trip there has no ladder.
func (l *Lab) ListenUDP() (*net.UDPConn, string, error) {
	var uc *net.UDPConn
	err := l.do(Server, func() (err error) {
		uc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(
			netip.MustParseAddrPort(l.serverAddr())))
		return err
	})
	if err != nil || l.Emulated() {
		if err != nil {
			return nil, "", err
		}
		return uc, uc.LocalAddr().String(), nil
	}
	up, down := l.paths()
	r, err := netem.NewUDPRelay(loopbackAny, uc.LocalAddr().String(), up, down)
	if err != nil {
		uc.Close()
		return nil, "", err
	}
	l.onClose(r.Close)
	return uc, r.Addr().String(), nil
}

// ClientUDP opens a UDP socket on the client host at port 0.
func (l *Lab) ClientUDP() (*net.UDPConn, error) {
	host := "127.0.0.1"
	if l.Emulated() {
		host = l.chain.Addr(0).String()
	}
	var uc *net.UDPConn
	err := l.do(Client, func() (err error) {
		uc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(
			netip.AddrPortFrom(netip.MustParseAddr(host), 0)))
		return err
	})
	return uc, err
}
