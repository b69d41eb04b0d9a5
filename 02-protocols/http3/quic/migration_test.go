package quic

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"backend-protocols/internal/netem"
)

// TestNATRebinding changes the client's source port in the middle of a
// transfer, as a NAT that forgot its mapping would: the server sees the
// same connection id from a new address, validates the new path with
// PATH_CHALLENGE and keeps the connection.
func TestNATRebinding(t *testing.T) {
	client, server, relay := relayPair(t, serverConfig(t), clientConfig(),
		netem.Path{}, netem.Path{})
	ctx := testCtx(t)
	before := server.RemoteAddr().String()
	s, err := client.OpenStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ss := make(chan *Stream, 1)
	go func() {
		st, err := server.AcceptStream(ctx)
		if err == nil {
			ss <- st
		}
	}()
	if _, err := s.Write(pattern(5000, 1)); err != nil {
		t.Fatal(err)
	}
	st := <-ss
	if _, err := io.ReadFull(st, make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	if err := relay.Rebind(); err != nil {
		t.Fatal(err)
	}
	// The first packet after the rebinding comes from the new port.
	msg := pattern(300000, 2)
	go func() { s.Write(msg); s.CloseWrite() }()
	got, err := io.ReadAll(st)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("after rebinding: got %d bytes, %v", len(got), err)
	}
	// And the server's answer reaches the client on the new path.
	go func() { st.Write([]byte("still here")); st.CloseWrite() }()
	back, err := io.ReadAll(s)
	if err != nil || string(back) != "still here" {
		t.Fatalf("server to client after rebinding: got %q, %v", back, err)
	}
	after := server.RemoteAddr().String()
	stats := server.Stats()
	if after == before || stats.Migrations != 1 || stats.PathChallenges < 1 {
		t.Errorf("server: address %s -> %s, %d migrations, %d challenges; "+
			"want a new address, 1 migration, >= 1 challenge",
			before, after, stats.Migrations, stats.PathChallenges)
	}
	server.mu.Lock()
	validated := server.path.validated
	server.mu.Unlock()
	if !validated {
		t.Errorf("new path not validated")
	}
}

// TestSessionResumptionAnd0RTT: a second connection resumes the session
// with the ticket from the first and sends its request in 0-RTT packets,
// which the server accepts and marks as early.
func TestSessionResumptionAnd0RTT(t *testing.T) {
	sc := serverConfig(t)
	sc.Allow0RTT = true
	ep := listen(t, sc)
	var cr recorder
	cc := clientConfig()
	cc.TLSConfig.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	cc.Trace = cr.trace
	ctx := testCtx(t)
	serve := func() {
		for {
			c, err := ep.Accept(ctx)
			if err != nil {
				return
			}
			go func() {
				for {
					s, err := c.AcceptStream(ctx)
					if err != nil {
						return
					}
					go func() {
						req, _ := io.ReadAll(s)
						early := "late"
						if s.Early() {
							early = "early"
						}
						s.Write(append(req, " "+early...))
						s.CloseWrite()
					}()
				}
			}()
		}
	}
	go serve()
	ask := func(c *Conn, msg string) string {
		s, err := c.OpenStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Write([]byte(msg))
		s.CloseWrite()
		b, err := io.ReadAll(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	c1, err := Dial(ctx, "udp", ep.LocalAddr().String(), cc)
	if err != nil {
		t.Fatal(err)
	}
	if got := ask(c1, "first"); got != "first late" {
		t.Errorf("first connection: got %q", got)
	}
	waitTicket(t, cc.TLSConfig.ClientSessionCache)
	c1.Close()

	// Through a relay with a 20 ms round trip, the request is written
	// long before the handshake can complete: it must go in 0-RTT.
	p := netem.Path{Delay: 10 * time.Millisecond}
	relay, err := netem.NewUDPRelay("127.0.0.1:0", ep.LocalAddr().String(), p, p)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	c2, err := DialEarly(ctx, "udp", relay.Addr().String(), cc)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got := ask(c2, "second"); got != "second early" {
		t.Errorf("0-RTT request: got %q, want it marked early", got)
	}
	<-c2.HandshakeComplete()
	if !c2.ConnectionState().DidResume || !c2.Used0RTT() {
		t.Errorf("resumed=%v used0RTT=%v, want both", c2.ConnectionState().DidResume,
			c2.Used0RTT())
	}
	zeroRTT := 0
	for _, e := range cr.all() {
		if e.Sent && e.Type == Packet0RTT && hasFrame(e, "STREAM") {
			zeroRTT++
		}
	}
	if zeroRTT == 0 {
		t.Errorf("no STREAM frame went out in a 0-RTT packet")
	}
}

// waitTicket waits until the session ticket, which follows the
// handshake, is stored for 127.0.0.1.
func waitTicket(t *testing.T, cache tls.ClientSessionCache) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := cache.Get("127.0.0.1"); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no session ticket stored")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestZeroRTTRejected: a server that does not allow 0-RTT still resumes
// the session, and the client's early data is sent again in 1-RTT.
func TestZeroRTTRejected(t *testing.T) {
	sc := serverConfig(t)
	sc.Allow0RTT = true
	ep := listen(t, sc)
	cc := clientConfig()
	cc.TLSConfig.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	ctx := testCtx(t)
	c1, server := dialAccept(t, ep, ep.LocalAddr().String(), cc)
	_ = server
	waitTicket(t, cc.TLSConfig.ClientSessionCache)
	c1.Close()

	// A new server with the same certificate but 0-RTT off: the ticket
	// is not valid there (another key), so a full handshake runs and the
	// early data is refused and resent.
	sc2 := serverConfig(t)
	sc2.TLSConfig = sc.TLSConfig.Clone()
	ep2 := listen(t, sc2)
	go func() {
		c, err := ep2.Accept(ctx)
		if err != nil {
			return
		}
		s, err := c.AcceptStream(ctx)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(s)
		s.Write(b)
		s.CloseWrite()
	}()
	// The session cache is keyed by server name: point it at ep2.
	c2, err := DialEarly(ctx, "udp", ep2.LocalAddr().String(), cc)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	s, err := c2.OpenStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("resent"))
	s.CloseWrite()
	b, err := io.ReadAll(s)
	if err != nil || string(b) != "resent" {
		t.Fatalf("got %q, %v", b, err)
	}
	if c2.Used0RTT() || !c2.EarlyDataRejected() {
		t.Errorf("used0RTT=%v rejected=%v, want a rejection", c2.Used0RTT(),
			c2.EarlyDataRejected())
	}
}

// TestRetry: a server that requires address validation answers the first
// Initial with Retry; the client comes back with the token and the
// handshake completes, the transport parameters proving both ends saw
// the same Retry.
func TestRetry(t *testing.T) {
	sc := serverConfig(t)
	sc.RequireAddressValidation = true
	var sr recorder
	cc := clientConfig()
	cc.Trace = sr.trace
	client, server := pair(t, sc, cc)
	exchange(t, client, server, 1000)
	client.mu.Lock()
	gotRetry := client.gotRetry
	client.mu.Unlock()
	if !gotRetry {
		t.Errorf("client saw no Retry")
	}
	initials := 0
	for _, e := range sr.all() {
		if e.Sent && e.Type == PacketInitial && hasFrame(e, "CRYPTO off=0") {
			initials++
		}
	}
	if initials != 2 {
		t.Errorf("ClientHello sent %d times from offset 0, want 2 (before and "+
			"after Retry)", initials)
	}
}

// TestServerAnswersUnknownVersion: a server answers an unknown version with a
// Version Negotiation packet listing version 1.
func TestServerAnswersUnknownVersion(t *testing.T) {
	ep := listen(t, serverConfig(t))
	conn, err := net.Dial("udp", ep.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pkt := make([]byte, MinInitialDatagram)
	copy(pkt, []byte{0xc0, 0x1a, 0x1a, 0x1a, 0x1a, 8, 1, 2, 3, 4, 5, 6, 7, 8, 2, 9, 9})
	conn.Write(pkt)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(buf[:n], 8)
	if err != nil || h.typ != PacketVersionNegotiation {
		t.Fatalf("got %+v, %v; want Version Negotiation", h, err)
	}
	if !bytes.Equal(h.dcid, []byte{9, 9}) || !bytes.Equal(h.scid, []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("connection ids not echoed: dcid %x scid %x", h.dcid, h.scid)
	}
	found := false
	for _, v := range h.versions {
		found = found || v == Version1
	}
	if !found {
		t.Errorf("versions %x lack version 1", h.versions)
	}
	// A small datagram gets no answer: Version Negotiation never
	// amplifies.
	conn.Write(pkt[:100])
	conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := conn.Read(buf); err == nil {
		t.Errorf("a 100-byte datagram got an answer")
	}
}

// TestClientActsOnVersionNegotiation: a "server" that only speaks
// another version makes Dial fail with ErrVersionNegotiation.
func TestClientActsOnVersionNegotiation(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 2000)
		for {
			n, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			h, err := parseHeader(buf[:n], 8)
			if err != nil || h.typ != PacketInitial {
				continue
			}
			vn := appendVersionNegotiation(nil, h.scid, h.dcid)
			// Claim only a version the client does not speak.
			vn = append(vn[:len(vn)-8], 0xff, 0x00, 0x00, 0x1d)
			pc.WriteToUDP(vn, from)
		}
	}()
	_, err = Dial(testCtx(t), "udp", pc.LocalAddr().String(), clientConfig())
	if !errors.Is(err, ErrVersionNegotiation) {
		t.Errorf("got %v, want ErrVersionNegotiation", err)
	}
}

// TestStatelessReset: a server that lost the connection (here: a fresh
// endpoint on the same port would; we close the server's endpoint and
// send from a second one) answers with a stateless reset the client
// recognises by the token the server gave it.
func TestStatelessReset(t *testing.T) {
	sc := serverConfig(t)
	ep := listen(t, sc)
	client, server := dialAccept(t, ep, ep.LocalAddr().String(), clientConfig())
	exchange(t, client, server, 10)
	// Make the server endpoint forget the connection without telling the
	// client: remove it from the endpoint and stop its goroutine quietly.
	server.mu.Lock()
	server.state = stateClosed
	server.closeErr = errors.New("forgotten")
	server.mu.Unlock()
	server.wakeup()
	<-server.Done()
	// The client's next packet reaches an endpoint with no such
	// connection, which answers with a stateless reset.
	s, err := client.OpenStream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("hello?"))
	select {
	case <-client.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client did not notice the reset")
	}
	if err := client.Err(); !errors.Is(err, ErrStatelessReset) {
		t.Errorf("got %v, want ErrStatelessReset", err)
	}
}
