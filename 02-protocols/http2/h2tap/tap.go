package h2tap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Options configure a Tap.
type Options struct {
	// Target is the server's address, host:port.
	Target string
	// TLS, if set, makes the tap a TLS server to its clients: the
	// certificate it presents and the protocols it offers with ALPN.
	// UpstreamTLS is then used to dial Target, offering only the protocol
	// the client chose. Without TLS the tap expects h2c with prior
	// knowledge and relays anything else undecoded.
	TLS         *tls.Config
	UpstreamTLS *tls.Config
	// OnFrame receives every frame, in the order the tap read them, before
	// the tap forwards it: a frame is printed before its receiver can react
	// to it. Calls never overlap; a slow OnFrame slows the connection.
	OnFrame func(Frame)
	// OnConn, if set, is told when a connection opens and when it closes.
	OnConn func(ConnEvent)
	// MaxData is how many bytes of each DATA payload to keep in Frame.Data.
	MaxData int
}

// ConnEvent reports a connection through the tap opening or closing.
type ConnEvent struct {
	Conn   int
	Proto  string // "h2", "http/1.1" or "" (h2c or not TLS)
	Closed bool
	Err    error // why it could not be relayed, if it could not
}

// HandshakeTimeout bounds the TLS handshakes and the dial to Target.
const HandshakeTimeout = 10 * time.Second

// Tap is a relay between HTTP/2 clients and one server that decodes every
// frame it forwards. It changes nothing on the wire (with TLS it is a
// terminating proxy: two TLS sessions, the same frames).
type Tap struct {
	ln  net.Listener
	opt Options

	mu      sync.Mutex // serializes OnFrame and OnConn
	connsMu sync.Mutex
	conns   map[net.Conn]struct{} // nil once closed
	n       int
	wg      sync.WaitGroup
}

// Listen starts a tap on addr (use "127.0.0.1:0") relaying to opt.Target.
func Listen(addr string, opt Options) (*Tap, error) {
	if opt.Target == "" {
		return nil, errors.New("h2tap: no target")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	t := &Tap{ln: ln, opt: opt, conns: make(map[net.Conn]struct{})}
	t.wg.Go(t.accept)
	return t, nil
}

// Addr is where clients connect.
func (t *Tap) Addr() net.Addr { return t.ln.Addr() }

// Conns reports how many connections the tap has accepted.
func (t *Tap) Conns() int {
	t.connsMu.Lock()
	defer t.connsMu.Unlock()
	return t.n
}

// Close stops accepting, closes every relayed connection and waits for
// the tap's goroutines to end.
func (t *Tap) Close() error {
	err := t.ln.Close()
	t.connsMu.Lock()
	for c := range t.conns {
		c.Close()
	}
	t.conns = nil
	t.connsMu.Unlock()
	t.wg.Wait()
	return err
}

func (t *Tap) accept() {
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond) // out of file descriptors
			continue
		}
		n, ok := t.track(c)
		if !ok {
			c.Close()
			return
		}
		t.wg.Go(func() { t.relay(n, c) })
	}
}

// track registers c for Close; the first call per accepted connection
// numbers it.
func (t *Tap) track(c net.Conn) (int, bool) {
	t.connsMu.Lock()
	defer t.connsMu.Unlock()
	if t.conns == nil {
		return 0, false
	}
	t.conns[c] = struct{}{}
	t.n++
	return t.n, true
}

// also registers a second connection belonging to the same relay.
func (t *Tap) also(c net.Conn) bool {
	t.connsMu.Lock()
	defer t.connsMu.Unlock()
	if t.conns == nil {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *Tap) untrack(c net.Conn) {
	t.connsMu.Lock()
	defer t.connsMu.Unlock()
	if t.conns != nil {
		delete(t.conns, c)
	}
}

func (t *Tap) emitConn(e ConnEvent) {
	if t.opt.OnConn == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.opt.OnConn(e)
}

func (t *Tap) emit(f Frame) {
	if t.opt.OnFrame == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.opt.OnFrame(f)
}

// relay serves one client connection: TLS if configured, a connection to
// the target offering the same ALPN protocol, then two pumps.
func (t *Tap) relay(n int, client net.Conn) {
	defer t.untrack(client)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), HandshakeTimeout)
	defer cancel()
	proto := ""
	if t.opt.TLS != nil {
		tc := tls.Server(client, t.opt.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			t.emitConn(ConnEvent{Conn: n, Closed: true,
				Err: fmt.Errorf("TLS handshake with client: %w", err)})
			return
		}
		client = tc
		proto = tc.ConnectionState().NegotiatedProtocol
	}
	server, err := t.dial(ctx, proto)
	if err != nil {
		t.emitConn(ConnEvent{Conn: n, Proto: proto, Closed: true, Err: err})
		return
	}
	defer server.Close()
	if !t.also(server) {
		return
	}
	defer t.untrack(server)
	t.emitConn(ConnEvent{Conn: n, Proto: proto})
	decode := proto == "h2" || t.opt.TLS == nil
	toServer, toClient := NewDecoders(t.opt.MaxData)
	if decode {
		// The client speaks first: its preface says whether both
		// directions are HTTP/2 frames or something to relay as bytes.
		f, raw, err := toServer.Next(client)
		if err == nil || errors.Is(err, ErrNotHTTP2) {
			f.Conn = n
			t.emit(f)
		}
		if _, werr := server.Write(raw); werr != nil {
			return
		}
		switch {
		case errors.Is(err, ErrNotHTTP2):
			decode = false
		case err != nil:
			return
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { t.pump(n, server, client, toServer, decode) })
	t.pump(n, client, server, toClient, decode)
	wg.Wait()
	t.emitConn(ConnEvent{Conn: n, Proto: proto, Closed: true})
}

// dial connects to the target, with TLS offering only proto if the tap
// terminates TLS.
func (t *Tap) dial(ctx context.Context, proto string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", t.opt.Target)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", t.opt.Target, err)
	}
	if t.opt.TLS == nil {
		return c, nil
	}
	cfg := &tls.Config{}
	if t.opt.UpstreamTLS != nil {
		cfg = t.opt.UpstreamTLS.Clone()
	}
	cfg.NextProtos = nil
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(t.opt.Target)
		cfg.ServerName = host
	}
	if proto != "" {
		cfg.NextProtos = []string{proto}
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", t.opt.Target, err)
	}
	if got := tc.ConnectionState().NegotiatedProtocol; got != proto {
		tc.Close()
		return nil, fmt.Errorf("server chose ALPN %q, client %q", got, proto)
	}
	return tc, nil
}

// pump copies src to dst frame by frame, decoding each, and half-closes
// dst at the end; with decode false it copies bytes.
func (t *Tap) pump(n int, dst, src net.Conn, d *Decoder, decode bool) {
	defer closeWrite(dst)
	if !decode {
		if _, err := io.Copy(dst, src); err != nil {
			dst.Close()
			src.Close()
		}
		return
	}
	for {
		f, raw, err := d.Next(src)
		if err == nil {
			f.Conn = n
			t.emit(f)
		}
		if len(raw) > 0 {
			if _, werr := dst.Write(raw); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				// A reset, a truncated frame or a closed tap: end both
				// sides, as the peers would.
				dst.Close()
				src.Close()
			}
			return
		}
	}
}

// closeWrite half-closes c so its peer reads EOF while the other
// direction carries on.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}
