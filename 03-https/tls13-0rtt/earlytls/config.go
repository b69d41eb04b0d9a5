package earlytls

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
)

// DefaultMaxEarlyData bounds the early data a client sends and a server
// takes (or skips, when it refuses it) unless Config says otherwise.
const DefaultMaxEarlyData = 64 << 10

// Config configures a Conn. Connections share it; do not copy it or change
// it once in use.
type Config struct {
	// TLS is the handshake's configuration. Its MinVersion is raised to
	// TLS 1.3, NextProtos must not be empty (crypto/tls's QUIC API
	// insists on ALPN), and a client must set ServerName (the session
	// cache is keyed by it) and ClientSessionCache to resume. Its
	// KeyLogWriter also gets the early traffic secrets, which crypto/tls
	// itself never logs.
	TLS *tls.Config

	// EarlyData lets a server accept 0-RTT data and issue tickets that
	// allow it. A client always offers early data when its ticket allows.
	EarlyData bool

	// MaxEarlyData bounds, in bytes, the early data a client sends before
	// the handshake completes (the rest waits for it) and what a server
	// takes or skips. Zero means DefaultMaxEarlyData.
	MaxEarlyData int

	// Guard, on a server, refuses early data on a ticket it has seen
	// before: each ticket may carry 0-RTT data once. Nil accepts replays,
	// as crypto/tls's QUIC API does on its own.
	Guard *TicketGuard

	// The TLS configuration as the QUIC API needs it, made once: a
	// server's session ticket keys live in it, so every connection must
	// share it for tickets to work.
	mu       sync.Mutex
	prepared *tls.Config
	from     *tls.Config
}

func (c *Config) maxEarly() int {
	if c.MaxEarlyData > 0 {
		return c.MaxEarlyData
	}
	return DefaultMaxEarlyData
}

// tlsConfig returns the TLS configuration fit for the QUIC API: a copy of
// TLS made on first use (and again if TLS is replaced).
func (c *Config) tlsConfig(client bool) (*tls.Config, error) {
	if c == nil || c.TLS == nil {
		return nil, errors.New("earlytls: no TLS configuration")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prepared != nil && c.from == c.TLS {
		return c.prepared, nil
	}
	t := c.TLS.Clone()
	t.MinVersion = tls.VersionTLS13
	if t.MaxVersion != 0 && t.MaxVersion < tls.VersionTLS13 {
		return nil, errors.New("earlytls: TLS 1.3 only")
	}
	if len(t.NextProtos) == 0 {
		return nil, errors.New("earlytls: NextProtos is required")
	}
	if client && t.ServerName == "" && !t.InsecureSkipVerify {
		return nil, errors.New("earlytls: a client needs a ServerName")
	}
	if !client && c.Guard != nil {
		if err := c.Guard.Protect(t); err != nil {
			return nil, err
		}
	}
	c.prepared, c.from = t, c.TLS
	return t, nil
}

// Client returns a client-side Conn over conn. The handshake starts at the
// first Write, Read or Handshake; a first Write on a resumable session
// goes out as early data in the same TCP write as the ClientHello.
func Client(conn net.Conn, config *Config) *Conn {
	return newConn(conn, config, true)
}

// Server returns a server-side Conn over conn.
func Server(conn net.Conn, config *Config) *Conn {
	return newConn(conn, config, false)
}

// Dial connects to addr over TCP and returns a client Conn, handshake not
// yet started.
func Dial(network, addr string, config *Config) (*Conn, error) {
	c, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	return Client(c, config), nil
}

// NewListener returns a listener whose Accept wraps every connection of
// inner in a server Conn.
func NewListener(inner net.Listener, config *Config) net.Listener {
	return &listener{Listener: inner, config: config}
}

type listener struct {
	net.Listener
	config *Config
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Server(c, l.config), nil
}
