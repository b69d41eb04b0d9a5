package ice

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"backend-protocols/02-protocols/webrtc/stun"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/netem"
)

func udp(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// stunServer runs the stun package's server on loopback for the test.
func stunServer(t *testing.T) netip.AddrPort {
	t.Helper()
	pc := udp(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { (&stun.Server{}).ServeUDP(ctx, pc); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// events collects an agent's trace.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) add(ev Event) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *events) count(k EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

func newAgent(t *testing.T, conn *net.UDPConn, cfg Config, ev *events) *Agent {
	t.Helper()
	if ev != nil {
		cfg.Trace = ev.add
	}
	a, err := NewAgent(conn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// exchange gives each agent the other's credentials and candidates, as
// the signaling channel would.
func exchange(t *testing.T, a, b *Agent, ga, gb Gathered) {
	t.Helper()
	ua, pa := a.Local()
	ub, pb := b.Local()
	if err := b.SetRemote(Params{Ufrag: ua, Pwd: pa, Candidates: ga.Candidates}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetRemote(Params{Ufrag: ub, Pwd: pb, Candidates: gb.Candidates}); err != nil {
		t.Fatal(err)
	}
}

func connectBoth(t *testing.T, a, b *Agent) (Pair, Pair) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var pb Pair
	var errB error
	done := make(chan struct{})
	go func() { pb, errB = b.Connect(ctx); close(done) }()
	pa, errA := a.Connect(ctx)
	<-done
	if errA != nil || errB != nil {
		ca, _ := a.Pairs()
		cb, _ := b.Pairs()
		t.Fatalf("connect: %v, %v\nA's pairs %v\nB's pairs %v", errA, errB, ca, cb)
	}
	return pa, pb
}

// TestTwoAgents connects two agents on loopback through a STUN server:
// the server-reflexive candidate equals the host one and is dropped,
// the host pair is checked both ways and nominated, and data crosses.
func TestTwoAgents(t *testing.T) {
	srv := stunServer(t)
	var ea, eb events
	a := newAgent(t, udp(t), Config{Controlling: true, STUN: srv}, &ea)
	b := newAgent(t, udp(t), Config{STUN: srv}, &eb)
	ctx := context.Background()
	ga, err := a.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gb, err := b.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ga.Redundant || len(ga.Candidates) != 1 || ga.STUN.Mapped != ga.Candidates[0].Addr {
		t.Errorf("got %v redundant=%v, want one host candidate and a redundant srflx",
			ga.Candidates, ga.Redundant)
	}
	exchange(t, a, b, ga, gb)
	pa, pb := connectBoth(t, a, b)
	if pa.Local.Addr != pb.Remote.Addr || pa.Remote.Addr != pb.Local.Addr || !pa.Nominated {
		t.Errorf("got A %v and B %v, want the same pair seen from both ends", pa, pb)
	}
	// B's checks reached A before A had B's candidates, so A first knew
	// B as peer-reflexive; the signalled host candidate replaced that.
	if pa.Remote.Type != Host || pb.Remote.Type != Host {
		t.Errorf("got A %v and B %v, want host candidates on both ends", pa, pb)
	}
	if !a.Controlling() || b.Controlling() {
		t.Error("roles changed without a conflict")
	}
	// Data both ways over the selected pair.
	if err := a.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, from, err := b.Read(rctx)
	if err != nil || string(got) != "ping" || from != pa.Local.Addr {
		t.Fatalf("B read %q from %v, %v; want ping from %v", got, from, err, pa.Local.Addr)
	}
	b.Write([]byte("pong"))
	if got, _, err := a.Read(rctx); err != nil || string(got) != "pong" {
		t.Fatalf("A read %q, %v", got, err)
	}
	sa := a.Stats()
	if sa.ChecksSent < 2 || sa.RequestsIn < 1 || sa.ResponsesOut < 1 || sa.Retransmits != 0 {
		t.Errorf("A's stats %+v: want checks both ways, no retransmission", sa)
	}
	if ea.count(EventSelected) != 1 || eb.count(EventSelected) != 1 {
		t.Error("want one selection per agent")
	}
	if err := a.Write((&stun.Message{Type: stun.BindingIndication}).Encode()); err == nil {
		t.Error("wrote a datagram that looks like STUN")
	}
}

// TestRoleConflict starts both agents controlling: one gets 487 or
// switches by the tiebreakers (section 7.3.1.1), and they still agree
// on one pair.
func TestRoleConflict(t *testing.T) {
	var ea, eb events
	a := newAgent(t, udp(t), Config{Controlling: true}, &ea)
	b := newAgent(t, udp(t), Config{Controlling: true}, &eb)
	ga, _ := a.Gather(context.Background())
	gb, _ := b.Gather(context.Background())
	exchange(t, a, b, ga, gb)
	pa, pb := connectBoth(t, a, b)
	if pa.Local.Addr != pb.Remote.Addr {
		t.Errorf("got A %v and B %v", pa, pb)
	}
	if a.Controlling() == b.Controlling() {
		t.Errorf("both agents are controlling=%v after the conflict", a.Controlling())
	}
	if ea.count(EventRoleSwitch)+eb.count(EventRoleSwitch) == 0 {
		t.Error("no role switch was reported")
	}
}

// TestLostChecks puts a relay that drops the first two datagrams each
// way between the agents: B learns A through the relay as a
// peer-reflexive candidate, and retransmissions recover the checks.
func TestLostChecks(t *testing.T) {
	ca, cb := udp(t), udp(t)
	drop := func(seq int, _ []byte) bool { return seq <= 2 }
	// The relay stands for a NAT in front of B: A sends to the relay's
	// address, which B sees as A's.
	relay, err := netem.NewUDPRelay("127.0.0.1:0", cb.LocalAddr().String(),
		netem.Path{Drop: drop}, netem.Path{Drop: drop})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	var ea, eb events
	a := newAgent(t, ca, Config{Controlling: true, RTO: 100 * time.Millisecond}, &ea)
	b := newAgent(t, cb, Config{RTO: 100 * time.Millisecond}, &eb)
	a.Gather(context.Background())
	gb, _ := b.Gather(context.Background())
	// A only knows B by the relay's address.
	viaRelay := gb.Candidates[0]
	viaRelay.Addr = relay.Addr().AddrPort()
	ua, pa := a.Local()
	ub, pb := b.Local()
	if err := a.SetRemote(Params{Ufrag: ub, Pwd: pb, Candidates: []Candidate{viaRelay}}); err != nil {
		t.Fatal(err)
	}
	// B is given A's host candidate, which it cannot reach (the relay
	// only forwards what A sends through it): B's checks to it go
	// straight to A, which answers directly; that pair works too.
	if err := b.SetRemote(Params{Ufrag: ua, Pwd: pa}); err != nil {
		t.Fatal(err)
	}
	selA, selB := connectBoth(t, a, b)
	if selA.Remote.Addr != relay.Addr().AddrPort() {
		t.Errorf("A selected %v, want the pair through the relay", selA)
	}
	if selB.Remote.Type != PeerReflexive {
		t.Errorf("B selected %v, want a peer-reflexive remote (the relay's address)", selB)
	}
	if a.Stats().Retransmits == 0 {
		t.Error("A recovered without retransmitting")
	}
	if relay.Up().Dropped != 2 {
		t.Errorf("relay dropped %d, want 2", relay.Up().Dropped)
	}
}

// TestRefusedChecks sends checks that break the rules at an agent:
// each gets its error (or silence), and the agent keeps working.
func TestRefusedChecks(t *testing.T) {
	a := newAgent(t, udp(t), Config{}, nil)
	ga, _ := a.Gather(context.Background())
	ufrag, pwd := a.Local()
	c := udp(t)
	ask := func(m *stun.Message) (int, bool) {
		t.Helper()
		c.WriteToUDPAddrPort(m.Encode(), ga.Candidates[0].Addr)
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 1500)
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return 0, false
		}
		resp, err := stun.Decode(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if resp.Type.Class == stun.ClassSuccess {
			return 200, true
		}
		ec, _ := resp.ErrorCode()
		return ec.Code, true
	}
	check := func(user, key string, role bool, extra func(*stun.Message)) *stun.Message {
		m := &stun.Message{Type: stun.BindingRequest, TransactionID: stun.NewTransactionID()}
		m.AddText(stun.AttrUsername, user)
		m.AddPriority(1)
		if role {
			m.AddICERole(true, 1)
		}
		if extra != nil {
			extra(m)
		}
		m.AddIntegrity(stun.ShortTermKey(key))
		m.AddFingerprint()
		return m
	}
	cases := []struct {
		name string
		m    *stun.Message
		code int
	}{
		{"good", check(ufrag+":peer", pwd, true, nil), 200},
		{"wrong ufrag", check("nope:peer", pwd, true, nil), 401},
		{"wrong password", check(ufrag+":peer", "wrong-password-wrong-pw", true, nil), 401},
		{"no role", check(ufrag+":peer", pwd, false, nil), 400},
		{"unknown attribute", check(ufrag+":peer", pwd, true,
			func(m *stun.Message) { m.Add(0x0077, []byte{1}) }), 420},
	}
	for _, tc := range cases {
		if code, ok := ask(tc.m); !ok || code != tc.code {
			t.Errorf("%s: got %d (answered %v), want %d", tc.name, code, ok, tc.code)
		}
	}
	// No FINGERPRINT: silence (ICE requires it).
	m := &stun.Message{Type: stun.BindingRequest, TransactionID: stun.NewTransactionID()}
	m.AddText(stun.AttrUsername, ufrag+":peer")
	if code, ok := ask(m); ok {
		t.Errorf("no fingerprint: got %d, want silence", code)
	}
	// Both controlling: the lower tiebreaker (1) loses with 487, or
	// the agent switches; either way it answers.
	if code, ok := ask(check(ufrag+":peer", pwd, true, nil)); !ok || code != 200 && code != 487 {
		t.Errorf("role claim: got %d", code)
	}
}

func TestSkippedCandidates(t *testing.T) {
	a := newAgent(t, udp(t), Config{}, nil)
	a.Gather(context.Background())
	for _, line := range []string{
		"candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype active",
		"candidate:1 1 udp 1 x.local 9 typ host",
		"candidate:1 1 udp 1 ::1 9 typ host",
		"candidate:1 2 udp 1 127.0.0.1 9 typ host",
	} {
		c, _ := ParseCandidate(line)
		if err := a.AddRemoteCandidate(c); err == nil {
			t.Errorf("%q: added, want skipped", line)
		}
	}
	for i := range MaxRemoteCandidates + 1 {
		c := Candidate{Foundation: "x", Component: 1, Transport: "UDP", Priority: 1,
			Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), uint16(1000+i)), Type: Host}
		err := a.AddRemoteCandidate(c)
		if i < MaxRemoteCandidates && err != nil || i == MaxRemoteCandidates && err == nil {
			t.Errorf("candidate %d: got %v", i, err)
		}
	}
}

func TestCloseEndsGoroutines(t *testing.T) {
	a := newAgent(t, udp(t), Config{}, nil)
	a.Gather(context.Background())
	a.Close()
	if _, err := a.Connect(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Connect after Close: got %v", err)
	}
	if left := leak.Gone(2*time.Second, "ice.(*Agent).read", "ice.(*checker).run"); len(left) > 0 {
		t.Errorf("goroutines left: %v", left)
	}
}
