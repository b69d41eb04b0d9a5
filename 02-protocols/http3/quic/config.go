package quic

import (
	"crypto/tls"
	"errors"
	"time"
)

// Config configures an endpoint's connections. The zero value of every
// field but TLSConfig picks a sensible default.
type Config struct {
	// TLSConfig is the TLS 1.3 configuration. It must set NextProtos
	// (ALPN is mandatory in QUIC), and a server's must hold a
	// certificate. MinVersion is raised to TLS 1.3. A client that sets
	// ClientSessionCache resumes sessions with the tickets servers send.
	TLSConfig *tls.Config

	// MaxIdleTimeout closes a connection after this long without a
	// packet from the peer (default 30s). The smaller of the two
	// endpoints' values applies.
	MaxIdleTimeout time.Duration
	// KeepAlivePeriod, if set, sends a PING when the connection has been
	// quiet this long, keeping it (and NAT bindings) alive.
	KeepAlivePeriod time.Duration
	// HandshakeTimeout bounds the handshake (default 10s).
	HandshakeTimeout time.Duration

	// MaxBidiRemoteStreams and MaxUniRemoteStreams bound the streams the
	// peer may have open at once (default 100 each).
	MaxBidiRemoteStreams int64
	MaxUniRemoteStreams  int64
	// MaxStreamReadBuffer is the flow-control window of each stream:
	// how much data the peer may send ahead of what the application has
	// read (default 1 MiB).
	MaxStreamReadBuffer int64
	// MaxConnReadBuffer is the connection-wide window (default 4 MiB).
	MaxConnReadBuffer int64
	// MaxStreamWriteBuffer bounds the data Write buffers per stream
	// before it blocks (default 1 MiB).
	MaxStreamWriteBuffer int64

	// MaxDatagramSize is the largest UDP payload this endpoint sends
	// once the path has carried a probe of that size (default 1452).
	// Until then, and if the probe is lost, datagrams are 1200 bytes.
	MaxDatagramSize int

	// RequireAddressValidation makes a server answer each new client
	// with a Retry packet and a token, proving the client's address
	// before any state is kept (RFC 9000, Section 8.1.2).
	RequireAddressValidation bool

	// Allow0RTT lets a server issue session tickets that permit 0-RTT
	// and accept early data from clients resuming with one. The
	// application must tolerate replay of early data: see Stream.Early.
	Allow0RTT bool

	// Trace, if set, is called for every packet sent and received, from
	// the connection's goroutine; it must not block.
	Trace func(PacketEvent)
}

// Defaults.
const (
	defaultIdleTimeout      = 30 * time.Second
	defaultHandshakeTimeout = 10 * time.Second
	defaultMaxStreams       = 100
	defaultStreamWindow     = 1 << 20
	defaultConnWindow       = 4 << 20
	defaultStreamWriteBuf   = 1 << 20
	defaultMaxDatagram      = 1452
	maxDatagramLimit        = 65527
	// maxCryptoBuffer bounds the out-of-order CRYPTO data buffered per
	// encryption level (RFC 9000, Section 7.5).
	maxCryptoBuffer = 64 << 10
)

// prepare checks the configuration and fills in the defaults; it returns
// a copy, so a Config may be shared.
func (c *Config) prepare(isServer bool) (*Config, error) {
	if c == nil || c.TLSConfig == nil {
		return nil, errors.New("quic: Config.TLSConfig is required")
	}
	if len(c.TLSConfig.NextProtos) == 0 {
		return nil, errors.New("quic: TLSConfig.NextProtos is required (ALPN)")
	}
	if isServer && len(c.TLSConfig.Certificates) == 0 &&
		c.TLSConfig.GetCertificate == nil &&
		c.TLSConfig.GetConfigForClient == nil {
		return nil, errors.New("quic: server TLSConfig has no certificate")
	}
	cc := *c
	cc.TLSConfig = c.TLSConfig.Clone()
	cc.TLSConfig.MinVersion = tls.VersionTLS13
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cc.MaxBidiRemoteStreams, defaultMaxStreams)
	def(&cc.MaxUniRemoteStreams, defaultMaxStreams)
	def(&cc.MaxStreamReadBuffer, defaultStreamWindow)
	def(&cc.MaxConnReadBuffer, defaultConnWindow)
	def(&cc.MaxStreamWriteBuffer, defaultStreamWriteBuf)
	if cc.MaxIdleTimeout <= 0 {
		cc.MaxIdleTimeout = defaultIdleTimeout
	}
	if cc.HandshakeTimeout <= 0 {
		cc.HandshakeTimeout = defaultHandshakeTimeout
	}
	if cc.MaxDatagramSize <= 0 {
		cc.MaxDatagramSize = defaultMaxDatagram
	}
	cc.MaxDatagramSize = min(max(cc.MaxDatagramSize, MinInitialDatagram),
		maxDatagramLimit)
	cc.MaxStreamReadBuffer = min(cc.MaxStreamReadBuffer, MaxVarint)
	cc.MaxConnReadBuffer = min(cc.MaxConnReadBuffer, MaxVarint)
	cc.MaxBidiRemoteStreams = min(cc.MaxBidiRemoteStreams, maxStreams)
	cc.MaxUniRemoteStreams = min(cc.MaxUniRemoteStreams, maxStreams)
	return &cc, nil
}
