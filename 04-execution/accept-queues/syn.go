package main

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"
)

// synQueue is what the SYN queue part measured, in a private namespace.
type synQueue struct {
	Backlog, SYNs int
	Cookies       synPhase // net.ipv4.tcp_syncookies=1
	NoCookies     synPhase // net.ipv4.tcp_syncookies=0
}

// synPhase is one run of SYNs from a client that does not answer.
type synPhase struct {
	SynAcks  int // SYN-ACKs the kernel sent back
	HalfOpen int // SYN_RECV request sockets: the SYN queue
	Queued   int // the accept queue meanwhile
	// Counter rises: SyncookiesSent, TCPReqQFullDoCookies,
	// TCPReqQFullDrop, then after the ACKs SyncookiesRecv and
	// ListenOverflows.
	CookiesSent, FullDoCookies, FullDrop, CookiesRecv, Overflows int64
	Accepted                                                     int // accept queue after the client's ACKs
	HalfLeft                                                     int // request sockets still waiting after the ACKs
}

var (
	serverIP = netip.MustParseAddr("10.9.0.1")
	clientIP = netip.MustParseAddr("10.9.0.2")
)

// synScenario runs the SYN queue part in a network namespace of its own,
// where a TUN device plays a client that sends SYNs and, until told to,
// never answers the SYN-ACKs. Without root it returns nil.
func synScenario(ctx context.Context, tl *timeline.Timeline, cfg config) (*synQueue, error) {
	res := &synQueue{Backlog: cfg.Backlog, SYNs: cfg.SynFlood}
	err := rawnet.InNewNetns(func() error {
		t, err := openTun("tun0", serverIP)
		if err != nil {
			return err
		}
		defer t.Close()
		tl.Printf("")
		tl.Note("kernel", "private namespace; tun0 %s/24 leads to a client at %s that we play by hand",
			serverIP, clientIP)
		if res.Cookies, err = synPhaseRun(tl, t, cfg, true); err != nil {
			return err
		}
		res.NoCookies, err = synPhaseRun(tl, t, cfg, false)
		return err
	})
	if errors.Is(err, rawnet.ErrNoNetns) {
		tl.Note("kernel", "skipping the SYN queue part: %v", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// synPhaseRun sends cfg.SynFlood SYNs to a fresh listener, looks at both
// queues, and (with cookies) completes every handshake it can.
func synPhaseRun(tl *timeline.Timeline, t *tun, cfg config, cookies bool) (synPhase, error) {
	var ph synPhase
	on := map[bool]string{true: "1", false: "0"}[cookies]
	if err := rawnet.SetSysctl("net.ipv4.tcp_syncookies", on); err != nil {
		return ph, err
	}
	ln, err := rawnet.Listen(netip.AddrPortFrom(serverIP, 0).String(),
		rawnet.ListenConfig{Backlog: cfg.Backlog})
	if err != nil {
		return ph, err
	}
	defer ln.Close()
	tl.Note("server", "tcp_syncookies=%s; listen(backlog %d) on %s; nobody accepts",
		on, cfg.Backlog, ln.Addr())
	before, err := kernel.Netstat()
	if err != nil {
		return ph, err
	}
	isn := func(i int) uint32 { return uint32(1000000 * (i + 1)) }
	port := func(i int) uint16 { return uint16(40000 + i) }
	for i := range cfg.SynFlood {
		s := segment{Src: netip.AddrPortFrom(clientIP, port(i)), Dst: ln.Addr(),
			Seq: isn(i), Flags: flagSYN}
		if err := t.send(s); err != nil {
			return ph, err
		}
	}
	// Collect the answers: one SYN-ACK per SYN the kernel did not drop.
	synacks := map[uint16]segment{}
	for len(synacks) < cfg.SynFlood {
		s, ok, err := t.recv(200 * time.Millisecond)
		if err != nil {
			return ph, err
		}
		if !ok {
			break
		}
		if s.Flags&(flagSYN|flagACK) == flagSYN|flagACK {
			synacks[s.Dst.Port()] = s
		}
	}
	ph.SynAcks = len(synacks)
	if ph.HalfOpen, ph.Queued, err = queues(ln.Addr()); err != nil {
		return ph, err
	}
	mid, err := kernel.Netstat()
	if err != nil {
		return ph, err
	}
	rise := func(a, b map[string]int64, k string) int64 { return b["TcpExt:"+k] - a["TcpExt:"+k] }
	ph.CookiesSent = rise(before, mid, "SyncookiesSent")
	ph.FullDoCookies = rise(before, mid, "TCPReqQFullDoCookies")
	ph.FullDrop = rise(before, mid, "TCPReqQFullDrop")
	tl.Send("client", "server", "%d SYNs; %d SYN-ACKs came back, left unanswered",
		cfg.SynFlood, ph.SynAcks)
	tl.Note("kernel", "SYN queue %d (SYN_RECV), accept queue %d; SyncookiesSent +%d, TCPReqQFullDrop +%d",
		ph.HalfOpen, ph.Queued, ph.CookiesSent, ph.FullDrop)
	if !cookies {
		return ph, nil
	}
	// Now the client answers every SYN-ACK it got, cookies included.
	for i := range cfg.SynFlood {
		sa, ok := synacks[port(i)]
		if !ok {
			continue
		}
		ack := segment{Src: sa.Dst, Dst: sa.Src, Seq: isn(i) + 1, Ack: sa.Seq + 1,
			Flags: flagACK}
		if err := t.send(ack); err != nil {
			return ph, err
		}
	}
	want := min(ph.SynAcks, cfg.Backlog+1)
	deadline := time.Now().Add(time.Second)
	for {
		if ph.HalfLeft, ph.Accepted, err = queues(ln.Addr()); err != nil {
			return ph, err
		}
		if ph.Accepted >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	after, err := kernel.Netstat()
	if err != nil {
		return ph, err
	}
	ph.CookiesRecv = rise(mid, after, "SyncookiesRecv")
	ph.Overflows = rise(mid, after, "ListenOverflows")
	tl.Send("client", "server", "%d ACKs", ph.SynAcks)
	tl.Note("kernel", "accept queue %d, SYN queue %d; SyncookiesRecv +%d, ListenOverflows +%d",
		ph.Accepted, ph.HalfLeft, ph.CookiesRecv, ph.Overflows)
	return ph, nil
}

// queues counts the listener's request sockets (SYN_RECV lines for its
// port: the SYN queue) and reads its accept queue.
func queues(addr netip.AddrPort) (halfOpen, accept int, err error) {
	tab, err := kernel.TCPTable()
	if err != nil {
		return 0, 0, err
	}
	for _, s := range tab {
		switch {
		case s.Local == addr && s.State == kernel.StateSynRecv:
			halfOpen++
		case s.Local == addr && s.State == kernel.StateListen:
			accept = s.RxQueue
		}
	}
	return halfOpen, accept, nil
}

func (s *synQueue) report(tl *timeline.Timeline) {
	c, n := s.Cookies, s.NoCookies
	tl.Printf("")
	tl.Printf("SYN queue, backlog %d, %d SYNs from a client that does not answer:", s.Backlog, s.SYNs)
	tl.Printf("%-34s %14s %14s", "", "syncookies=1", "syncookies=0")
	row := func(name string, a, b any) { tl.Printf("%-34s %14v %14v", name, a, b) }
	row("SYN-ACKs sent", c.SynAcks, n.SynAcks)
	row("SYN queue (SYN_RECV)", c.HalfOpen, n.HalfOpen)
	row("accept queue", c.Queued, n.Queued)
	row("TcpExt:SyncookiesSent +", c.CookiesSent, n.CookiesSent)
	row("TcpExt:TCPReqQFullDrop +", c.FullDrop, n.FullDrop)
	tl.Printf("then the client ACKs every SYN-ACK (syncookies=1): accept queue %d, %d still half-open,",
		c.Accepted, c.HalfLeft)
	tl.Printf("SyncookiesRecv +%d, ListenOverflows +%d: the accept queue caps at backlog+1 again.",
		c.CookiesRecv, c.Overflows)
}
