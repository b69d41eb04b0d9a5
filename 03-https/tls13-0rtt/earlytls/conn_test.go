package earlytls

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"backend-protocols/internal/certs"
	"backend-protocols/internal/leak"
)

// pair holds a CA and the two sides' configurations.
type pair struct {
	ca     *certs.CA
	server *Config
	client *Config
}

func newPair(t testing.TB, guard *TicketGuard) *pair {
	t.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	scfg, err := ca.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	scfg.NextProtos = []string{"http/1.1"}
	ccfg := ca.ClientConfig()
	ccfg.ServerName = "localhost"
	ccfg.NextProtos = []string{"http/1.1"}
	ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	return &pair{ca: ca,
		server: &Config{TLS: scfg, EarlyData: true, Guard: guard},
		client: &Config{TLS: ccfg}}
}

// echoServer answers each line a client sends with "early:<line>" or
// "late:<line>", saying whether the line came as early data, and logs
// what it answered, until the test ends.
type echoServer struct {
	addr string

	mu     sync.Mutex
	lines  []string
	closed int // connections finished
}

func newEchoServer(t testing.TB, cfg *Config) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	l := NewListener(ln, cfg)
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(c.(*Conn)) })
		}
	})
	return s
}

func (s *echoServer) serve(c *Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		s.closed++
		s.mu.Unlock()
	}()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		tag := "late:"
		if c.InEarlyData() {
			tag = "early:"
		}
		s.mu.Lock()
		s.lines = append(s.lines, tag+strings.TrimSuffix(line, "\n"))
		s.mu.Unlock()
		if _, err := io.WriteString(c, tag+line); err != nil {
			return
		}
	}
}

// waitClosed waits until n connections have finished.
func (s *echoServer) waitClosed(t testing.TB, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		closed, lines := s.closed, append([]string(nil), s.lines...)
		s.mu.Unlock()
		if closed >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d connections finished, want %d", closed, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// roundTrip dials, writes line and reads the answer.
func roundTrip(t testing.TB, addr string, cfg *Config, line string) (string, *Conn) {
	t.Helper()
	c, err := Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(got, "\n"), c
}

func TestFullThenEarlyData(t *testing.T) {
	p := newPair(t, nil)
	addr := newEchoServer(t, p.server).addr

	got, c := roundTrip(t, addr, p.client, "one")
	if got != "late:one" || c.EarlyDataAccepted() || c.ConnectionState().DidResume {
		t.Errorf("first connection: got %q, early %v, resumed %v; want late:one, false, false",
			got, c.EarlyDataAccepted(), c.ConnectionState().DidResume)
	}
	// Read until the ticket has arrived: the server sends it after the
	// client's Finished, which went with "one".
	c.Close()

	got, c = roundTrip(t, addr, p.client, "two")
	if got != "early:two" || !c.EarlyDataAccepted() || !c.ConnectionState().DidResume {
		t.Errorf("second connection: got %q, early %v, resumed %v; want early:two, true, true",
			got, c.EarlyDataAccepted(), c.ConnectionState().DidResume)
	}
}

func TestServerRefusesEarlyData(t *testing.T) {
	p := newPair(t, nil)
	p.server.EarlyData = false
	addr := newEchoServer(t, p.server).addr
	roundTrip(t, addr, p.client, "one")
	got, c := roundTrip(t, addr, p.client, "two")
	if got != "late:two" || c.EarlyDataAccepted() {
		t.Errorf("got %q, early %v; want late:two, false", got, c.EarlyDataAccepted())
	}
}

func TestCloseNotifyIsEOF(t *testing.T) {
	p := newPair(t, nil)
	addr := newEchoServer(t, p.server).addr
	_, c := roundTrip(t, addr, p.client, "one")
	c.Close()
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after close: got %v, want net.ErrClosed", err)
	}
}

// recorder keeps a copy of everything written to a connection.
type recorder struct {
	net.Conn
	mu      sync.Mutex
	written []byte
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.written = append(r.written, b...)
	r.mu.Unlock()
	return r.Conn.Write(b)
}

// TestReplay captures a client's first flight (ClientHello and early
// data) and sends it again on a new connection, as an attacker on the path
// could: without a guard the server takes the early data twice; with one,
// the copy resumes nothing the attacker can use and its request is
// skipped.
func TestReplay(t *testing.T) {
	for _, guarded := range []bool{false, true} {
		t.Run(map[bool]string{false: "no guard", true: "guard"}[guarded], func(t *testing.T) {
			var g *TicketGuard
			if guarded {
				g = &TicketGuard{}
			}
			p := newPair(t, g)
			s := newEchoServer(t, p.server)
			_, c := roundTrip(t, s.addr, p.client, "prime")
			c.Close()

			nc, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{Conn: nc}
			c = Client(rec, p.client)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "pay\n")
			if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != "early:pay\n" {
				t.Fatalf("got %q, %v; want early:pay", got, err)
			}
			c.Close()
			s.waitClosed(t, 2)

			// The first flight: everything written before the handshake
			// completed is the ClientHello and the early record, sent in
			// one write.
			rec.mu.Lock()
			flight := rec.written[:recordsLen(rec.written, 2)]
			rec.mu.Unlock()
			attacker, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			attacker.Write(flight)
			// Half-close: the server reads the copy to its end, answers
			// what it will and closes.
			attacker.(*net.TCPConn).CloseWrite()
			attacker.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.Copy(io.Discard, attacker)
			attacker.Close()
			lines := s.waitClosed(t, 3)

			pays := 0
			for _, l := range lines {
				if l == "early:pay" {
					pays++
				}
			}
			want := 2
			if guarded {
				want = 1
			}
			if pays != want {
				t.Errorf("got the early request served %d times (%v), want %d", pays, lines, want)
			}
			if guarded && g.Refused() != 1 {
				t.Errorf("got %d refusals, want 1", g.Refused())
			}
		})
	}
}

// recordsLen returns the length of the first n records in b.
func recordsLen(b []byte, n int) int {
	off := 0
	for range n {
		_, k, err := ParseRecord(b[off:])
		if err != nil || k == 0 {
			break
		}
		off += k
	}
	return off
}

// TestRefusedEarlyDataIsSentAgain: a client that reuses a ticket a
// guarded server has seen carry early data has its early data refused; the
// server skips it and the client sends it again after the handshake.
func TestRefusedEarlyDataIsSentAgain(t *testing.T) {
	g := &TicketGuard{}
	p := newPair(t, g)
	s := newEchoServer(t, p.server)
	roundTrip(t, s.addr, p.client, "prime")
	// The client reads its answer, which comes before the server's next
	// ticket, and hangs up: it keeps the ticket it just used.
	if got, _ := roundTrip(t, s.addr, p.client, "once"); got != "early:once" {
		t.Fatalf("got %q, want early:once", got)
	}
	got, c := roundTrip(t, s.addr, p.client, "twice")
	if got != "late:twice" || c.EarlyDataAccepted() || !c.ConnectionState().DidResume {
		t.Errorf("got %q, early %v, resumed %v; want late:twice, false, true",
			got, c.EarlyDataAccepted(), c.ConnectionState().DidResume)
	}
	if g.Refused() != 1 {
		t.Errorf("got %d refusals, want 1", g.Refused())
	}
}

// TestHelloRetryRequestAfterEarlyData makes the server ask for another key
// share after a ClientHello that offered early data. RFC 8446 wants the
// early data refused and skipped and the session resumed. Go 1.26's
// crypto/tls QUIC client computes the second ClientHello's PSK binder
// before it drops the early_data extension (processHelloRetryRequest), so
// the server rejects the binder (decrypt_error); the test accepts that
// known failure, or the right outcome once Go fixes it, and nothing else.
func TestHelloRetryRequestAfterEarlyData(t *testing.T) {
	p := newPair(t, nil)
	p.server.TLS.CurvePreferences = []tls.CurveID{tls.CurveP256}
	p.client.TLS.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256}
	addr := newEchoServer(t, p.server).addr
	roundTrip(t, addr, p.client, "one") // a full handshake, with a HelloRetryRequest

	c, err := Dial("tcp", addr, p.client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "two\n")
	got, err := bufio.NewReader(c).ReadString('\n')
	switch {
	case err != nil && strings.Contains(err.Error(), "error decrypting message"):
		t.Logf("crypto/tls's invalid binder after HelloRetryRequest: %v", err)
	case err != nil:
		t.Errorf("got %v, want late:two or the known binder error", err)
	case got != "late:two\n" || c.EarlyDataAccepted():
		t.Errorf("got %q, early %v; want late:two, false", got, c.EarlyDataAccepted())
	}
}

// TestMain fails the run if a connection's goroutine outlives the tests:
// a reader, a server loop, or crypto/tls's QUIC handshake goroutine,
// which only Close stops.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if left := leak.Gone(5*time.Second, "earlytls.(*Conn)",
			"earlytls.(*echoServer)", "crypto/tls.(*Conn).HandshakeContext"); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "goroutines left running:\n%s\n", strings.Join(left, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}
