package ice

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/02-protocols/webrtc/stun"
)

// Config configures an Agent. Zero fields take the RFC's defaults.
type Config struct {
	// Controlling is the agent's initial role: the offerer's agent
	// controls (RFC 8445 section 6.1.1) and nominates the pair.
	Controlling bool
	// Ufrag and Pwd are the local credentials; random if empty.
	Ufrag, Pwd string
	// STUN is a STUN server to learn a server-reflexive candidate from;
	// none if the zero value. STUNClient sets that transaction's
	// retransmission schedule (the stun package's defaults if nil).
	STUN       netip.AddrPort
	STUNClient *stun.Client
	// Ta paces checks: one every Ta (section 14.2; 50 ms).
	Ta time.Duration
	// RTO is a check's first retransmission timeout (section 14.3 says
	// at least 500 ms), doubled after each of up to Rc transmissions
	// (7); the last waits Rm (16) RTOs, as in RFC 8489 section 6.2.1.
	RTO    time.Duration
	Rc, Rm int
	// NominationWait is how long the controlling agent, once a pair is
	// valid, waits for pairs of higher priority that are still being
	// checked before it nominates the best valid pair (section 8.1.1
	// leaves that criterion to the agent). 250 ms if zero.
	NominationWait time.Duration
	// Trace, if set, is told of every step, from the agent's goroutine.
	Trace func(Event)
}

// EventKind says what an Event reports.
type EventKind int

// The events an agent reports.
const (
	EventCandidate     EventKind = iota // a local candidate was gathered
	EventRedundant                      // a candidate equal to another was dropped (5.1.3)
	EventCheck                          // a check was sent (Attempt > 1: a retransmission)
	EventRequest                        // a check arrived and was answered
	EventResponse                       // a response to a check arrived
	EventPairState                      // a pair changed state
	EventPeerReflexive                  // a peer-reflexive candidate was learned
	EventRoleSwitch                     // a role conflict changed the role
	EventSelected                       // the nominated pair is selected
)

// Event is one step of an agent, for a narrative or a test.
type Event struct {
	Kind     EventKind
	From, To netip.AddrPort // of the message, when there is one
	Msg      *stun.Message  // the message sent or received, if any
	Attempt  int            // of a check
	Pair     Pair           // the pair concerned, if any
	Text     string         // a human description
}

func (e Event) String() string { return e.Text }

// Stats counts what an agent did.
type Stats struct {
	ChecksSent, Retransmits  int64 // Binding requests sent, of them resent
	RequestsIn, ResponsesOut int64 // checks received; success responses sent
	ErrorsOut                int64 // error responses sent (400, 401, 420, 487)
	Discarded                int64 // STUN messages dropped: bad, forged or stray
	DataIn, DataOut          int64 // application datagrams
	DataDropped              int64 // from unknown addresses, or a full queue
}

// Agent is a full ICE agent for one data stream with one component
// over one UDP socket (its only base): it gathers a host and a
// server-reflexive candidate, answers and sends connectivity checks,
// nominates (or accepts the nomination of) a pair, and then carries
// datagrams over it.
type Agent struct {
	cfg  Config
	conn *net.UDPConn
	base netip.AddrPort

	started atomic.Bool
	cmds    chan func(*checker)
	in      chan packet
	data    chan packet
	done    chan struct{} // closed once a pair is selected
	quit    chan struct{}
	wg      sync.WaitGroup
	close   sync.Once

	selected atomic.Pointer[Pair]
	stats    struct {
		checks, retrans, reqIn, respOut, errOut, discarded atomic.Int64
		dataIn, dataOut, dataDropped                       atomic.Int64
	}
}

type packet struct {
	b    []byte
	from netip.AddrPort
}

// NewAgent makes an agent that owns conn, which must be bound to one
// address (not 0.0.0.0): that address is the host candidate. Call Gather
// next.
func NewAgent(conn *net.UDPConn, cfg Config) (*Agent, error) {
	base := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	base = netip.AddrPortFrom(base.Addr().Unmap(), base.Port())
	if base.Addr().IsUnspecified() {
		return nil, errors.New("ice: bind the socket to one address, not " + base.String())
	}
	if cfg.Ufrag == "" {
		cfg.Ufrag = randomICEChars(8) // 48 bits; section 5.3 wants 24
	}
	if cfg.Pwd == "" {
		cfg.Pwd = randomICEChars(24) // 144 bits; section 5.3 wants 128
	}
	if !validCredential(cfg.Ufrag, 4) || !validCredential(cfg.Pwd, 22) {
		return nil, errors.New("ice: ufrag or pwd is not 4 (22) to 256 ice-chars")
	}
	if cfg.Ta <= 0 {
		cfg.Ta = 50 * time.Millisecond
	}
	if cfg.RTO <= 0 {
		cfg.RTO = 500 * time.Millisecond
	}
	if cfg.Rc <= 0 {
		cfg.Rc = 7
	}
	if cfg.Rm <= 0 {
		cfg.Rm = 16
	}
	if cfg.NominationWait <= 0 {
		cfg.NominationWait = 250 * time.Millisecond
	}
	return &Agent{cfg: cfg, conn: conn, base: base,
		cmds: make(chan func(*checker)), in: make(chan packet, 256),
		data: make(chan packet, 256), done: make(chan struct{}),
		quit: make(chan struct{})}, nil
}

// Local returns the agent's credentials, for the description it sends.
func (a *Agent) Local() (ufrag, pwd string) { return a.cfg.Ufrag, a.cfg.Pwd }

// Gathered is what Gather found.
type Gathered struct {
	// Candidates to send the peer: the host candidate, and the
	// server-reflexive one unless it was redundant.
	Candidates []Candidate
	// STUN is the Binding transaction with the STUN server, if any:
	// STUN.Mapped is the address the server saw.
	STUN stun.Result
	// Redundant is set when the server-reflexive candidate equalled the
	// host candidate (no NAT between us and the STUN server) and was
	// dropped, as section 5.1.3 says.
	Redundant bool
}

// Gather gathers the candidates (section 5.1.1): the host candidate of
// the socket's address and, with a STUN server configured, a
// server-reflexive one. It then starts the agent, which from now on
// answers checks, even before SetRemote. The error, if any, is the STUN
// transaction's; the agent runs anyway, with its host candidate. Call
// Gather once.
func (a *Agent) Gather(ctx context.Context) (Gathered, error) {
	if a.started.Swap(true) {
		return Gathered{}, errors.New("ice: Gather called twice")
	}
	var g Gathered
	host := Candidate{Foundation: Foundation(Host, a.base.Addr(), netip.AddrPort{}),
		Component: 1, Transport: "UDP", Priority: Priority(Host, 65535, 1),
		Addr: a.base, Type: Host}
	g.Candidates = append(g.Candidates, host)
	a.trace(Event{Kind: EventCandidate, Text: "gathered " + host.Short()})
	var err error
	if a.cfg.STUN.IsValid() {
		c := a.cfg.STUNClient
		if c == nil {
			c = &stun.Client{}
		}
		// The transaction reads the socket itself, before the agent's
		// reader starts: nothing else is expected on it yet.
		g.STUN, err = c.BindingUDP(ctx, a.conn, a.cfg.STUN)
		if err == nil {
			srflx := Candidate{Foundation: Foundation(ServerReflexive, a.base.Addr(), a.cfg.STUN),
				Component: 1, Transport: "UDP", Priority: Priority(ServerReflexive, 65535, 1),
				Addr: g.STUN.Mapped, Type: ServerReflexive, Related: a.base}
			if srflx.Addr == host.Addr {
				g.Redundant = true
				a.trace(Event{Kind: EventRedundant, Text: fmt.Sprintf(
					"%s equals the host candidate: redundant, dropped (RFC 8445 5.1.3)", srflx.Short())})
			} else {
				g.Candidates = append(g.Candidates, srflx)
				a.trace(Event{Kind: EventCandidate, Text: fmt.Sprintf(
					"gathered %s (base %s, from STUN %s)", srflx.Short(), a.base, a.cfg.STUN)})
			}
		}
	}
	a.conn.SetReadDeadline(time.Time{})
	c := newChecker(a, g.Candidates)
	a.wg.Go(a.read)
	a.wg.Go(c.run)
	return g, err
}

// SetRemote gives the agent the peer's credentials and candidates, from
// its description; checks start at once. It returns the candidates that
// were skipped and why (joined errors), and fails only if the
// credentials are bad.
func (a *Agent) SetRemote(p Params) error {
	if !validCredential(p.Ufrag, 4) || !validCredential(p.Pwd, 22) {
		return fmt.Errorf("%w: remote ufrag or pwd", ErrSDP)
	}
	var errs []error
	err := a.do(func(c *checker) {
		c.setRemote(p.Ufrag, p.Pwd)
		for _, rc := range p.Candidates {
			errs = append(errs, c.addRemote(rc))
		}
	})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// AddRemoteCandidate adds one trickled remote candidate. It returns an
// error saying why a candidate is skipped: not UDP, a host name (RFC
// 8839 section 5.1 says to ignore those), another address family than
// the base, a component other than 1, or one too many.
func (a *Agent) AddRemoteCandidate(rc Candidate) error {
	var err error
	if derr := a.do(func(c *checker) { err = c.addRemote(rc) }); derr != nil {
		return derr
	}
	return err
}

// ErrClosed is returned by calls on a closed agent.
var ErrClosed = errors.New("ice: agent closed")

// do runs f on the agent's goroutine, which owns all checking state.
func (a *Agent) do(f func(*checker)) error {
	if !a.started.Load() {
		return errors.New("ice: call Gather first")
	}
	done := make(chan struct{})
	select {
	case a.cmds <- func(c *checker) { f(c); close(done) }:
	case <-a.quit:
		return ErrClosed
	}
	select {
	case <-done:
		return nil
	case <-a.quit:
		return ErrClosed
	}
}

// Connect waits until a pair is selected, and returns it.
func (a *Agent) Connect(ctx context.Context) (Pair, error) {
	select {
	case <-a.done:
		return *a.selected.Load(), nil
	case <-ctx.Done():
		return Pair{}, ctx.Err()
	case <-a.quit:
		return Pair{}, ErrClosed
	}
}

// Selected returns the selected pair, if there is one yet.
func (a *Agent) Selected() (Pair, bool) {
	if p := a.selected.Load(); p != nil {
		return *p, true
	}
	return Pair{}, false
}

// Controlling reports the agent's current role.
func (a *Agent) Controlling() bool {
	var ctl bool
	if a.do(func(c *checker) { ctl = c.controlling }) != nil {
		return a.cfg.Controlling
	}
	return ctl
}

// Pairs returns the checklist, highest priority first, and the valid
// list.
func (a *Agent) Pairs() (checklist, valid []Pair) {
	a.do(func(c *checker) {
		for _, p := range c.list {
			checklist = append(checklist, p.Pair)
		}
		for _, v := range c.valid {
			valid = append(valid, *v)
		}
	})
	return checklist, valid
}

// ErrNotConnected is returned by Write before a pair is selected.
var ErrNotConnected = errors.New("ice: no selected pair yet")

// Write sends one datagram to the peer over the selected pair.
func (a *Agent) Write(p []byte) error {
	sel := a.selected.Load()
	if sel == nil {
		return ErrNotConnected
	}
	if stun.IsMessage(p) {
		return errors.New("ice: data that looks like STUN would be taken for a check")
	}
	a.stats.dataOut.Add(1)
	_, err := a.conn.WriteToUDPAddrPort(p, sel.Remote.Addr)
	return err
}

// Read returns the next datagram from the peer: anything that is not
// STUN, from an address among the remote candidates (section 12.2).
func (a *Agent) Read(ctx context.Context) ([]byte, netip.AddrPort, error) {
	select {
	case p := <-a.data:
		return p.b, p.from, nil
	case <-ctx.Done():
		return nil, netip.AddrPort{}, ctx.Err()
	case <-a.quit:
		return nil, netip.AddrPort{}, ErrClosed
	}
}

// Stats returns the counters so far.
func (a *Agent) Stats() Stats {
	s := &a.stats
	return Stats{ChecksSent: s.checks.Load(), Retransmits: s.retrans.Load(),
		RequestsIn: s.reqIn.Load(), ResponsesOut: s.respOut.Load(),
		ErrorsOut: s.errOut.Load(), Discarded: s.discarded.Load(),
		DataIn: s.dataIn.Load(), DataOut: s.dataOut.Load(),
		DataDropped: s.dataDropped.Load()}
}

// Close stops the agent and closes its socket.
func (a *Agent) Close() error {
	var err error
	a.close.Do(func() {
		close(a.quit)
		err = a.conn.Close()
		a.wg.Wait()
	})
	return err
}

// read hands every datagram to the agent's goroutine.
func (a *Agent) read() {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := a.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors surface here on Linux: ignore them
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		select {
		case a.in <- packet{append([]byte(nil), buf[:n]...), from}:
		case <-a.quit:
			return
		default:
			a.stats.discarded.Add(1) // the agent is behind: drop, as a NIC would
		}
	}
}

func (a *Agent) trace(e Event) {
	if a.cfg.Trace != nil {
		a.cfg.Trace(e)
	}
}

// randomICEChars returns n random ice-chars (RFC 8839: ALPHA / DIGIT /
// "+" / "/"), 6 bits each.
func randomICEChars(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&63]
	}
	return string(b)
}

// randomTiebreaker returns a random 64-bit tiebreaker (section 16.1).
func randomTiebreaker() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}
