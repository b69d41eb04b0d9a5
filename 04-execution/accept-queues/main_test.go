package main

import (
	"context"
	"testing"
	"time"

	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"
)

func TestAcceptQueues(t *testing.T) {
	before, _ := kernel.FDBaseline()
	cfg := config{Backlog: 3, Extra: 2, Wait: 100 * time.Millisecond,
		Table: []int{1, 6}, SynFlood: 10}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Main
	if m.AtOnce != cfg.Backlog+1 || m.Queued != cfg.Backlog+1 {
		t.Errorf("backlog %d: got %d connected at once, accept queue %d; want %d and %d",
			cfg.Backlog, m.AtOnce, m.Queued, cfg.Backlog+1, cfg.Backlog+1)
	}
	if len(m.Stalled) != cfg.Extra {
		t.Fatalf("got %d stalled clients, want %d", len(m.Stalled), cfg.Extra)
	}
	// Other processes may overflow their own listeners meanwhile: the
	// counters are for the namespace, so they rise by at least ours.
	if m.Overflows < int64(cfg.Extra) || m.Drops < int64(cfg.Extra) {
		t.Errorf("got ListenOverflows +%d, ListenDrops +%d; want at least %d",
			m.Overflows, m.Drops, cfg.Extra)
	}
	if res.Drain != 0 {
		t.Errorf("got accept queue %d after the acceptor ran, want 0", res.Drain)
	}
	for i, d := range m.Late {
		// The first SYN retransmission comes after the initial RTO, 1 s.
		if d < 900*time.Millisecond || m.LateRetran[i] < 1 {
			t.Errorf("stalled client %d: connected after %v with %d retransmissions, want about 1s and 1",
				i, d, m.LateRetran[i])
		}
	}
	for _, r := range res.Others {
		if r.AtOnce != r.Backlog+1 || r.Queued != r.Backlog+1 {
			t.Errorf("backlog %d: got %d connected at once, queue %d; want %d",
				r.Backlog, r.AtOnce, r.Queued, r.Backlog+1)
		}
	}
	if after, _ := kernel.OpenFDs(); after != before {
		t.Errorf("got %d descriptors open after, want %d", after, before)
	}

	s := res.SYN
	if s == nil {
		t.Skip("SYN queue part needs root (a network namespace and a TUN device)")
	}
	c, n := s.Cookies, s.NoCookies
	// In a namespace of our own the counters are exact.
	if c.SynAcks != cfg.SynFlood || c.HalfOpen < 1 || c.HalfOpen > cfg.Backlog+1 ||
		c.Queued != 0 || c.CookiesSent != int64(cfg.SynFlood-c.HalfOpen) {
		t.Errorf("syncookies=1: got %d SYN-ACKs, SYN queue %d, accept queue %d, %d cookies; want %d, 1..%d, 0, the rest",
			c.SynAcks, c.HalfOpen, c.Queued, c.CookiesSent, cfg.SynFlood, cfg.Backlog+1)
	}
	if c.Accepted != cfg.Backlog+1 || c.Overflows < 1 || c.CookiesRecv < 1 {
		t.Errorf("after the ACKs: got accept queue %d, ListenOverflows +%d, SyncookiesRecv +%d; want %d and some",
			c.Accepted, c.Overflows, c.CookiesRecv, cfg.Backlog+1)
	}
	if n.SynAcks != n.HalfOpen || n.FullDrop != int64(cfg.SynFlood-n.HalfOpen) ||
		n.CookiesSent != 0 {
		t.Errorf("syncookies=0: got %d SYN-ACKs, SYN queue %d, TCPReqQFullDrop +%d, cookies %d; want the rest dropped",
			n.SynAcks, n.HalfOpen, n.FullDrop, n.CookiesSent)
	}
}
