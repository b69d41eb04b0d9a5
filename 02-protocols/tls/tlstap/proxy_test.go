package tlstap

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"

	"backend-protocols/internal/certs"
)

// echoTLS serves TLS on loopback: it answers "ping" with "pong".
func echoTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 4)
				if _, err := io.ReadFull(c, buf); err == nil {
					c.Write([]byte("pong"))
				}
			})
		}
	})
	return ln.Addr().String()
}

type collector struct {
	mu     sync.Mutex
	events []Event
}

func (c *collector) add(e Event) {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
}

func (c *collector) conn(n int) []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Event
	for _, e := range c.events {
		if e.Conn == n {
			out = append(out, e)
		}
	}
	return out
}

// hellos returns the ClientHello and ServerHello among events.
func hellos(events []Event) (ch, sh *Hello, types map[Side][]HandshakeType) {
	types = map[Side][]HandshakeType{}
	for _, e := range events {
		for _, m := range e.Record.Messages {
			types[e.From] = append(types[e.From], m.Type)
			switch m.Type {
			case ClientHello:
				ch = m.Hello
			case ServerHello:
				sh = m.Hello
			}
		}
	}
	return ch, sh, types
}

// TestProxyAgainstCryptoTLS checks what the tap reads off the wire
// against what crypto/tls, at both ends, says it negotiated.
func TestProxyAgainstCryptoTLS(t *testing.T) {
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	scfg, err := ca.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	var col collector
	p, err := Listen("127.0.0.1:0", echoTLS(t, scfg), col.add)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cache := tls.NewLRUClientSessionCache(8)
	cases := []struct {
		name   string
		max    uint16
		curves []tls.CurveID
		resume bool
	}{
		{"1.3 default", tls.VersionTLS13, nil, false},
		{"1.3 X25519", tls.VersionTLS13, []tls.CurveID{tls.X25519}, false},
		{"1.3 resumed", tls.VersionTLS13, []tls.CurveID{tls.X25519}, true},
		{"1.2", tls.VersionTLS12, nil, false},
		{"1.2 resumed", tls.VersionTLS12, nil, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := ca.ClientConfig()
			cfg.ServerName, cfg.MaxVersion = "localhost", c.max
			cfg.CurvePreferences = c.curves
			cfg.NextProtos = []string{"http/1.1"}
			if !c.resume {
				cache = tls.NewLRUClientSessionCache(8) // a fresh start
			}
			cfg.ClientSessionCache = cache
			conn, err := tls.Dial("tcp", p.Addr(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			conn.Write([]byte("ping"))
			reply, _ := io.ReadAll(conn)
			conn.Close()
			if string(reply) != "pong" {
				t.Fatalf("got %q, want pong", reply)
			}
			cs := conn.ConnectionState()
			events := col.conn(i + 1)
			ch, sh, types := hellos(events)
			if ch == nil || sh == nil {
				t.Fatalf("tap saw no hellos in %v", events)
			}
			if ch.ServerName != "localhost" || len(ch.ALPN) != 1 || ch.ALPN[0] != "http/1.1" {
				t.Errorf("ClientHello: got SNI %q, ALPN %q", ch.ServerName, ch.ALPN)
			}
			if sh.Version != cs.Version || sh.CipherSuites[0] != cs.CipherSuite {
				t.Errorf("tap saw %s %s, crypto/tls says %s %s",
					tls.VersionName(sh.Version), tls.CipherSuiteName(sh.CipherSuites[0]),
					tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
			}
			if cs.DidResume != c.resume {
				t.Fatalf("got DidResume %v, want %v", cs.DidResume, c.resume)
			}
			if c.max == tls.VersionTLS13 {
				if !cs.DidResume && (len(sh.Groups) != 1 || sh.Groups[0] != cs.CurveID) {
					t.Errorf("tap saw key share %v, crypto/tls says %v", sh.Groups, cs.CurveID)
				}
				if sh.PSK != cs.DidResume || ch.PSK != c.resume {
					t.Errorf("got PSK offered %v, accepted %v; want %v", ch.PSK, sh.PSK, c.resume)
				}
				// Only the hellos are in the clear.
				if n := len(types[Server]); n != 1 {
					t.Errorf("got %d readable server messages %v, want 1", n, types[Server])
				}
			} else {
				want := []HandshakeType{ServerHello, Certificate, ServerKeyExchange,
					ServerHelloDone}
				if c.resume {
					want = []HandshakeType{ServerHello}
				}
				got := types[Server]
				if len(got) < len(want) || !equalPrefix(got, want) {
					t.Errorf("got server messages %v, want %v first", got, want)
				}
				if ch.SessionTicket != c.resume {
					t.Errorf("got ticket offered %v, want %v", ch.SessionTicket, c.resume)
				}
			}
			for _, e := range events {
				if e.Record.Type == ApplicationData && bytes.Contains(e.Record.Head, []byte("ping")) {
					t.Errorf("plaintext on the wire: %q", e.Record.Head)
				}
			}
		})
	}
}

func equalPrefix(got, want []HandshakeType) bool {
	for i := range want {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestProxyRelaysNonTLS: bytes that are not TLS still pass untouched.
func TestProxyRelaysNonTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	p, err := Listen("127.0.0.1:0", ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	c.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(c)
	if string(got) != "GET / HTTP/1.1\r\n\r\n" {
		t.Errorf("got %q back", got)
	}
}
