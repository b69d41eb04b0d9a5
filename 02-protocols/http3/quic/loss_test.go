package quic

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"backend-protocols/internal/netem"
)

// relayPair connects a client to a server through a netem UDP relay.
func relayPair(t testing.TB, scfg, ccfg *Config, up, down netem.Path) (client, server *Conn, relay *netem.UDPRelay) {
	t.Helper()
	ep := listen(t, scfg)
	relay, err := netem.NewUDPRelay("127.0.0.1:0", ep.LocalAddr().String(), up, down)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	client, server = dialAccept(t, ep, relay.Addr().String(), ccfg)
	return client, server, relay
}

// exchange sends n bytes each way on one stream and checks them.
func exchange(t testing.TB, client, server *Conn, n int) {
	t.Helper()
	ctx := testCtx(t)
	up, down := pattern(n, 11), pattern(n, 22)
	done := make(chan error, 1)
	go func() {
		s, err := server.AcceptStream(ctx)
		if err != nil {
			done <- err
			return
		}
		go func() { s.Write(down); s.CloseWrite() }()
		got, err := io.ReadAll(s)
		if err == nil && !bytes.Equal(got, up) {
			err = io.ErrUnexpectedEOF
		}
		done <- err
	}()
	s, err := client.OpenStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() { s.Write(up); s.CloseWrite() }()
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, down) {
		t.Fatalf("client got %d bytes, want %d identical", len(got), len(down))
	}
	if err := <-done; err != nil {
		t.Fatalf("server side: %v", err)
	}
}

// TestRandomLossReorderDuplicate moves 1 MB each way through a path that
// loses 5% of datagrams, reorders 5% and duplicates 2%, both ways, with
// fixed seeds so the run is repeatable.
func TestRandomLossReorderDuplicate(t *testing.T) {
	path := func(seed uint64) netem.Path {
		return netem.Path{Delay: 2 * time.Millisecond, Loss: 0.05,
			Reorder: 0.05, Duplicate: 0.02, Seed: seed}
	}
	client, server, relay := relayPair(t, serverConfig(t), clientConfig(),
		path(1), path(2))
	exchange(t, client, server, 1<<20)
	if relay.Up().Dropped == 0 || relay.Down().Dropped == 0 {
		t.Fatalf("relay dropped %d up, %d down; want losses both ways",
			relay.Up().Dropped, relay.Down().Dropped)
	}
	cs, ss := client.Stats(), server.Stats()
	if cs.PacketsLost == 0 || ss.PacketsLost == 0 {
		t.Errorf("got %d client and %d server packets declared lost, want > 0",
			cs.PacketsLost, ss.PacketsLost)
	}
	if cs.Retransmitted == 0 || ss.Retransmitted == 0 {
		t.Errorf("got %d and %d frames retransmitted, want > 0",
			cs.Retransmitted, ss.Retransmitted)
	}
}

// TestHandshakeSurvivesLoss drops the client's first Initial datagram and
// the server's first two datagrams: probe timeouts resend the CRYPTO data.
func TestHandshakeSurvivesLoss(t *testing.T) {
	up := netem.Path{Drop: func(seq int, _ []byte) bool { return seq == 1 }}
	down := netem.Path{Drop: func(seq int, _ []byte) bool { return seq <= 2 }}
	client, server, relay := relayPair(t, serverConfig(t), clientConfig(), up, down)
	exchange(t, client, server, 1000)
	if relay.Up().Dropped != 1 || relay.Down().Dropped != 2 {
		t.Errorf("relay dropped %d up and %d down, want 1 and 2",
			relay.Up().Dropped, relay.Down().Dropped)
	}
}

// TestLostDataIsResentAsFrames drops two chosen datagrams of a transfer,
// one in the middle and the very last data packet (a tail loss only a
// probe timeout can find), and checks the data arrives intact.
func TestLostDataIsResentAsFrames(t *testing.T) {
	var mu sync.Mutex
	var big []int // sequence numbers of full-size datagrams
	down := netem.Path{Drop: func(seq int, b []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if len(b) >= 1000 && b[0]&0x80 == 0 {
			big = append(big, seq)
			return len(big) == 5
		}
		return false
	}}
	client, server, relay := relayPair(t, serverConfig(t), clientConfig(),
		netem.Path{}, down)
	// A 20 KB response: about 17 full packets; the fifth is lost.
	exchange(t, client, server, 20000)
	if relay.Down().Dropped != 1 {
		t.Fatalf("dropped %d, want 1", relay.Down().Dropped)
	}
	if ss := server.Stats(); ss.PacketsLost == 0 || ss.Retransmitted == 0 {
		t.Errorf("server: %d lost, %d retransmitted; want both > 0",
			ss.PacketsLost, ss.Retransmitted)
	}
}

// TestTailLossRecoveredByPTO loses the last datagram carrying data of a
// short response: no later packet reveals the gap, so only the probe
// timeout gets it resent.
func TestTailLossRecoveredByPTO(t *testing.T) {
	var mu sync.Mutex
	armed := false
	dropped := false
	down := netem.Path{Drop: func(seq int, b []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if armed && !dropped && b[0]&0x80 == 0 && len(b) > 100 {
			dropped = true
			return true
		}
		return false
	}}
	client, server, relay := relayPair(t, serverConfig(t), clientConfig(),
		netem.Path{}, down)
	exchange(t, client, server, 10) // settle the handshake
	mu.Lock()
	armed = true
	mu.Unlock()
	start := time.Now()
	exchange(t, client, server, 500) // one packet each way
	if relay.Down().Dropped != 1 {
		t.Fatalf("dropped %d, want 1", relay.Down().Dropped)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("recovery took %v, want one probe timeout", d)
	}
}

// TestNewRenoWindow checks the congestion controller by itself: slow
// start doubles per round trip, a loss halves the window once per
// recovery period, persistent congestion collapses it.
func TestNewRenoWindow(t *testing.T) {
	r := newNewReno(1200)
	if r.window != 12000 {
		t.Fatalf("initial window %d, want 12000 (10 x 1200)", r.window)
	}
	t0 := time.Now()
	for i := 0; i < 10; i++ {
		p := sentPacket{size: 1200, inFlight: true, sent: t0}
		r.onSent(1200)
		r.onAcked(&p)
	}
	if r.window != 24000 {
		t.Errorf("after 10 acked packets in slow start got %d, want 24000", r.window)
	}
	r.onCongestionEvent(t0.Add(time.Millisecond), t0.Add(2*time.Millisecond))
	if r.window != 12000 || r.ssthresh != 12000 {
		t.Errorf("after a loss got window %d ssthresh %d, want 12000", r.window, r.ssthresh)
	}
	// A second loss of a packet sent before recovery began is the same
	// event.
	r.onCongestionEvent(t0, t0.Add(3*time.Millisecond))
	if r.window != 12000 {
		t.Errorf("second loss in one recovery period cut the window to %d", r.window)
	}
	// Congestion avoidance: about one datagram per window of acks.
	for i := 0; i < 10; i++ {
		p := sentPacket{size: 1200, inFlight: true, sent: t0.Add(time.Second)}
		r.onSent(1200)
		r.onAcked(&p)
	}
	if r.window < 13000 || r.window > 13300 {
		t.Errorf("congestion avoidance: got %d, want about 13200", r.window)
	}
	r.onPersistentCongestion()
	if r.window != 2400 {
		t.Errorf("persistent congestion: got %d, want 2400", r.window)
	}
}

// TestAckRangesFromReordering: a gap makes the ACK frame carry two
// ranges, and is acknowledged at once.
func TestAckRangesFromReordering(t *testing.T) {
	var s space
	s.init()
	now := time.Now()
	for _, pn := range []uint64{0, 1, 2, 5, 6} {
		s.onReceived(spaceApp, pn, true, now, 25*time.Millisecond)
	}
	if !s.ackNow {
		t.Errorf("a gap did not trigger an immediate ACK")
	}
	got := s.ackRanges(nil)
	want := []ackRange{{5, 6}, {0, 2}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got ranges %v, want %v", got, want)
	}
	b := appendAck(nil, got, 0, 10)
	var f frame
	if _, err := parseFrame(b, &f); err != nil || len(f.ackRanges) != 2 {
		t.Errorf("re-parsed %v %v", f.ackRanges, err)
	}
}
