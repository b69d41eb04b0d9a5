package stun

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"backend-protocols/internal/netem"
)

// serveUDP runs a server on a loopback UDP port for the test's length.
func serveUDP(t *testing.T, s *Server) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeUDP(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func clientConn(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestBindingUDP(t *testing.T) {
	addr := serveUDP(t, &Server{Software: "test"})
	conn := clientConn(t)
	res, err := (&Client{}).BindingUDP(context.Background(), conn, addr)
	if err != nil {
		t.Fatal(err)
	}
	if want := conn.LocalAddr().(*net.UDPAddr).AddrPort(); res.Mapped != want || res.Attempts != 1 {
		t.Errorf("got %v in %d attempts, want %v in 1", res.Mapped, res.Attempts, want)
	}
	if s, _ := res.Response.Text(AttrSoftware); s != "test" || res.Response.CheckFingerprint() != nil {
		t.Errorf("response lacks SOFTWARE or a good FINGERPRINT: %v", res.Response)
	}
}

// TestRetransmission drops the first two requests on a relay: the client
// resends after RTO and 2 RTO, and the server sees the relay's address.
func TestRetransmission(t *testing.T) {
	addr := serveUDP(t, &Server{})
	relay, err := netem.NewUDPRelay("127.0.0.1:0", addr.String(),
		netem.Path{Drop: func(seq int, _ []byte) bool { return seq <= 2 }}, netem.Path{})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	const rto = 40 * time.Millisecond
	var sends []time.Duration
	c := &Client{RTO: rto, OnSend: func(_ int, at time.Duration) { sends = append(sends, at) }}
	res, err := c.BindingUDP(context.Background(), clientConn(t), relay.Addr().AddrPort())
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || len(sends) != 3 {
		t.Fatalf("got %d attempts, want 3 (two dropped)", res.Attempts)
	}
	checkGaps(t, sends, rto)
	if res.Mapped.Addr() != netip.MustParseAddr("127.0.0.1") || relay.Up().Dropped != 2 {
		t.Errorf("got %v, relay dropped %d", res.Mapped, relay.Up().Dropped)
	}
}

// TestTimeoutSchedule: Rc requests at 0, RTO, 3 RTO...; failure Rm
// initial RTOs after the last.
func TestTimeoutSchedule(t *testing.T) {
	addr := serveUDP(t, &Server{})
	relay, err := netem.NewUDPRelay("127.0.0.1:0", addr.String(),
		netem.Path{Loss: 1}, netem.Path{})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	const rto = 10 * time.Millisecond
	var sends []time.Duration
	c := &Client{RTO: rto, Rc: 4, Rm: 5,
		OnSend: func(_ int, at time.Duration) { sends = append(sends, at) }}
	start := time.Now()
	_, err = c.BindingUDP(context.Background(), clientConn(t), relay.Addr().AddrPort())
	total := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if len(sends) != 4 {
		t.Fatalf("got %d sends, want Rc = 4", len(sends))
	}
	checkGaps(t, sends, rto)
	// The final wait is Rm initial RTOs after the last send.
	if wait := total - sends[3]; wait < 5*rto || wait > 5*rto+slack {
		t.Errorf("gave up %v after the last send, want %v (Rm*RTO)", wait, 5*rto)
	}
}

// slack is how late a timer may fire on a loaded machine under -race.
const slack = 150 * time.Millisecond

// checkGaps checks the RTO doubling: the wait before send i+1 is 2^i RTO,
// never less, and not much more.
func checkGaps(t *testing.T, sends []time.Duration, rto time.Duration) {
	t.Helper()
	for i := 1; i < len(sends); i++ {
		want := rto << (i - 1)
		if gap := sends[i] - sends[i-1]; gap < want || gap > want+slack {
			t.Errorf("send %d came %v after send %d, want %v (RTO doubling)", i+1, gap, i, want)
		}
	}
}

func TestBindingTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Server{}).ServeTCP(ctx, ln) }()
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 2 { // several transactions on one connection
		res, err := (&Client{}).BindingTCP(context.Background(), conn)
		if err != nil {
			t.Fatal(err)
		}
		if res.Mapped.String() != conn.LocalAddr().String() {
			t.Errorf("got %v, want %v", res.Mapped, conn.LocalAddr())
		}
	}
	// Garbage closes that connection only.
	bad, _ := net.Dial("tcp", ln.Addr().String())
	defer bad.Close()
	bad.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	bad.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := bad.Read(make([]byte, 10)); err == nil {
		t.Error("server answered garbage over TCP")
	}
	if _, err := (&Client{}).BindingTCP(context.Background(), conn); err != nil {
		t.Errorf("after garbage on another connection: %v", err)
	}
}

func TestUnknownAttributeIs420(t *testing.T) {
	s := &Server{}
	req := &Message{Type: BindingRequest, TransactionID: NewTransactionID()}
	req.Add(0x0033, []byte{1, 2, 3})
	req.Add(0x8033, []byte{1}) // comprehension-optional: ignored
	resp, err := Decode(s.Handle(req.Encode(), netip.MustParseAddrPort("192.0.2.1:1")))
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := resp.ErrorCode()
	u, _ := resp.UnknownAttributes()
	if resp.Type != BindingError || ec.Code != 420 || len(u) != 1 || u[0] != 0x0033 {
		t.Errorf("got %v code %d unknown %v, want 420 listing 0x0033", resp.Type, ec.Code, u)
	}
}

func TestShortTermCredentials(t *testing.T) {
	addr := serveUDP(t, &Server{Password: func(u string) (string, bool) {
		return "s3cret", u == "alice"
	}})
	cases := []struct {
		user, pass string
		code       int
	}{
		{"", "", 400}, {"bob", "s3cret", 401}, {"alice", "wrong", 401}, {"alice", "s3cret", 0},
	}
	for _, c := range cases {
		res, err := (&Client{Username: c.user, Password: c.pass}).BindingUDP(
			context.Background(), clientConn(t), addr)
		var ec ErrorCode
		switch {
		case c.code == 0 && err != nil:
			t.Errorf("%s/%s: %v", c.user, c.pass, err)
		case c.code == 0 && res.Response.CheckIntegrity(ShortTermKey("s3cret")) != nil:
			t.Errorf("%s: response not signed", c.user)
		case c.code != 0 && (!errors.As(err, &ec) || ec.Code != c.code):
			t.Errorf("%s/%s: got %v, want error %d", c.user, c.pass, err, c.code)
		}
	}
}

func TestServerIgnoresJunk(t *testing.T) {
	s := &Server{}
	from := netip.MustParseAddrPort("192.0.2.1:1")
	resp := &Message{Type: BindingSuccess, TransactionID: NewTransactionID()}
	ind := &Message{Type: BindingIndication, TransactionID: NewTransactionID()}
	badFP := &Message{Type: BindingRequest, TransactionID: NewTransactionID()}
	badFP.Add(AttrFingerprint, []byte{1, 2, 3, 4})
	for name, b := range map[string][]byte{"garbage": []byte("hello"),
		"a response": resp.Encode(), "an indication": ind.Encode(), "bad fingerprint": badFP.Encode()} {
		if out := s.Handle(b, from); out != nil {
			t.Errorf("%s: got an answer, want silence", name)
		}
	}
}

// TestCoturnClient asks coturn's turnutils_stunclient, an independent
// STUN client, for its reflexive address from this server.
func TestCoturnClient(t *testing.T) {
	if _, err := exec.LookPath("turnutils_stunclient"); err != nil {
		t.Skip("turnutils_stunclient not installed (Debian: coturn)")
	}
	addr := serveUDP(t, &Server{Software: "backend-protocols"})
	out, err := exec.Command("turnutils_stunclient", "-p",
		itoa(int(addr.Port())), "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	m := regexp.MustCompile(`UDP reflexive addr: (127\.0\.0\.1:\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("turnutils_stunclient printed %q, want a reflexive address", out)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
