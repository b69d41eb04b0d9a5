package ice

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"backend-protocols/02-protocols/webrtc/stun"
)

// Bounds on what a peer can make the agent hold.
const (
	MaxRemoteCandidates = 32
	MaxPairs            = 100 // section 6.1.2.5's recommended limit
)

// checker is the state of the connectivity checks (RFC 8445 sections 6
// to 8). One goroutine, run, owns it: packets, timers and API calls all
// arrive there, so nothing in it needs a lock.
type checker struct {
	a           *Agent
	controlling bool
	tiebreaker  uint64
	local       []Candidate // gathered and peer-reflexive
	host        Candidate   // the base of every check

	remoteUfrag, remotePwd string
	remote                 []Candidate

	list      []*pair // the checklist, highest priority first
	triggered []*pair // the triggered-check queue (6.1.4.1)
	txs       map[stun.TransactionID]*transaction
	valid     []*Pair

	nextCheck  time.Time // Ta pacing
	firstValid time.Time
	nominating bool
	selected   *Pair
	srv        *stun.Server
}

func newChecker(a *Agent, local []Candidate) *checker {
	c := &checker{a: a, controlling: a.cfg.Controlling,
		tiebreaker: randomTiebreaker(), local: local, host: local[0],
		txs: map[stun.TransactionID]*transaction{}}
	// Answers are built by the stun package's server: it checks the
	// USERNAME and MESSAGE-INTEGRITY of each check with our password
	// (section 7.3: the part before the colon must be our ufrag), and
	// refuses unknown comprehension-required attributes with 420.
	c.srv = &stun.Server{Password: func(user string) (string, bool) {
		ours, _, _ := strings.Cut(user, ":")
		return a.cfg.Pwd, ours == a.cfg.Ufrag
	}}
	return c
}

func (c *checker) run() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(time.Until(c.nextWake()))
		select {
		case <-c.a.quit:
			return
		case f := <-c.a.cmds:
			f(c)
		case p := <-c.a.in:
			c.handle(p)
		case <-timer.C:
		}
		now := time.Now()
		c.retransmit(now)
		c.maybeNominate(now)
		c.pace(now)
	}
}

// nextWake is the earliest of: the next paced check if one is due to
// go, a retransmission or timeout, and the end of the nomination wait.
func (c *checker) nextWake() time.Time {
	next := time.Now().Add(time.Hour)
	if c.selected == nil && c.remotePwd != "" && c.work() {
		next = c.nextCheck
	}
	for _, tx := range c.txs {
		if tx.next.Before(next) {
			next = tx.next
		}
	}
	if c.controlling && !c.nominating && !c.firstValid.IsZero() {
		if t := c.firstValid.Add(c.a.cfg.NominationWait); t.Before(next) {
			next = t
		}
	}
	return next
}

// work reports whether a check is waiting to be sent.
func (c *checker) work() bool {
	if len(c.triggered) > 0 {
		return true
	}
	for _, p := range c.list {
		if p.State == Waiting {
			return true
		}
	}
	return false
}

// setRemote records the peer's credentials (section 7.2.2).
func (c *checker) setRemote(ufrag, pwd string) {
	c.remoteUfrag, c.remotePwd = ufrag, pwd
}

// addRemote adds a remote candidate and pairs it with the base (6.1.2).
func (c *checker) addRemote(rc Candidate) error {
	switch {
	case !rc.IsUDP():
		return fmt.Errorf("ice: skipped %s: transport %s", rc.Short(), rc.Transport)
	case rc.Hostname != "":
		return fmt.Errorf("ice: skipped %s: a host name, not an address (RFC 8839 5.1)", rc.Short())
	case rc.Addr.Addr().Is4() != c.host.Addr.Addr().Is4():
		return fmt.Errorf("ice: skipped %s: another address family than %s", rc.Short(), c.host.Addr)
	case rc.Component != 1:
		return fmt.Errorf("ice: skipped %s: component %d", rc.Short(), rc.Component)
	}
	for i, have := range c.remote {
		if have.Addr == rc.Addr {
			if have.Type == PeerReflexive && rc.Type != PeerReflexive {
				// The signalled candidate replaces what a check taught us
				// (section 7.3.1.3: its foundation is the real one), in
				// its pair too.
				c.remote[i] = rc
				if p := c.find(rc.Addr); p != nil {
					p.Remote = rc
					p.Priority = c.pairPriority(p.Local, p.Remote)
					c.sort()
				}
				for _, v := range c.valid {
					if v.Remote.Addr == rc.Addr {
						v.Remote = rc
						v.Priority = c.pairPriority(v.Local, v.Remote)
					}
				}
			}
			return nil
		}
	}
	if len(c.remote) >= MaxRemoteCandidates {
		return fmt.Errorf("ice: skipped %s: over %d remote candidates", rc.Short(), MaxRemoteCandidates)
	}
	c.remote = append(c.remote, rc)
	c.addPair(rc)
	return nil
}

// addPair pairs rc with the base, keeping the checklist sorted, unless
// the pair is there already or the list is full.
func (c *checker) addPair(rc Candidate) *pair {
	if p := c.find(rc.Addr); p != nil {
		return p
	}
	if len(c.list) >= MaxPairs {
		return nil
	}
	p := &pair{Pair: Pair{Local: c.host, Remote: rc, State: Waiting}}
	p.Priority = c.pairPriority(p.Local, p.Remote)
	c.list = append(c.list, p)
	c.sort()
	c.a.trace(Event{Kind: EventPairState, Pair: p.Pair,
		Text: fmt.Sprintf("pair %v: waiting", p.Pair)})
	return p
}

func (c *checker) find(remote netip.AddrPort) *pair {
	for _, p := range c.list {
		if p.Remote.Addr == remote {
			return p
		}
	}
	return nil
}

// pairPriority applies section 6.1.2.3 with this agent's role.
func (c *checker) pairPriority(local, remote Candidate) uint64 {
	if c.controlling {
		return PairPriority(local.Priority, remote.Priority)
	}
	return PairPriority(remote.Priority, local.Priority)
}

func (c *checker) sort() {
	slices.SortStableFunc(c.list, func(x, y *pair) int {
		switch {
		case x.Priority > y.Priority:
			return -1
		case x.Priority < y.Priority:
			return 1
		}
		return 0
	})
}

// pace sends one check every Ta: from the triggered-check queue first,
// else the highest-priority Waiting pair (section 6.1.4.2).
func (c *checker) pace(now time.Time) {
	if c.selected != nil || c.remotePwd == "" || now.Before(c.nextCheck) {
		return
	}
	var p *pair
	if len(c.triggered) > 0 {
		p, c.triggered = c.triggered[0], c.triggered[1:]
		p.queued = false
	} else {
		for _, q := range c.list {
			if q.State == Waiting {
				p = q
				break
			}
		}
	}
	if p == nil {
		return
	}
	c.send(p, now)
	c.nextCheck = now.Add(c.a.cfg.Ta)
}

// send starts a check on p (sections 7.1 and 7.2): a Binding request
// with USERNAME remote:local, PRIORITY as if our candidate were
// peer-reflexive, our role and tiebreaker, USE-CANDIDATE when the
// controlling agent nominates, MESSAGE-INTEGRITY keyed with the peer's
// password, and FINGERPRINT.
func (c *checker) send(p *pair, now time.Time) {
	if p.tx != nil {
		p.tx.cancelled = true
	}
	prio := Priority(PeerReflexive, 65535, p.Local.Component)
	use := c.controlling && p.nominate
	m := &stun.Message{Type: stun.BindingRequest, TransactionID: stun.NewTransactionID()}
	m.AddText(stun.AttrUsername, c.remoteUfrag+":"+c.a.cfg.Ufrag)
	m.AddPriority(prio)
	m.AddICERole(c.controlling, c.tiebreaker)
	if use {
		m.AddUseCandidate()
	}
	m.AddIntegrity(stun.ShortTermKey(c.remotePwd))
	m.AddFingerprint()
	tx := &transaction{p: p, wire: m.Encode(), pwd: c.remotePwd, priority: prio,
		use: use, controlling: c.controlling, attempts: 1, last: now,
		rto: c.a.cfg.RTO}
	tx.next = now.Add(tx.rto)
	c.txs[m.TransactionID] = tx
	p.tx = tx
	c.setState(p, InProgress)
	c.a.stats.checks.Add(1)
	c.a.conn.WriteToUDPAddrPort(tx.wire, p.Remote.Addr)
	c.a.trace(Event{Kind: EventCheck, From: p.Local.Addr, To: p.Remote.Addr, Msg: m,
		Attempt: 1, Pair: p.Pair, Text: "check " + describe(m)})
}

// retransmit resends checks whose RTO passed, doubling it, and fails
// the pair after Rc sends and a last wait of Rm RTOs (RFC 8489 6.2.1).
func (c *checker) retransmit(now time.Time) {
	for id, tx := range c.txs {
		if now.Before(tx.next) {
			continue
		}
		if tx.cancelled || tx.attempts >= c.a.cfg.Rc {
			delete(c.txs, id)
			if !tx.cancelled && tx.p.tx == tx {
				tx.p.tx = nil
				c.setState(tx.p, Failed)
			}
			continue
		}
		tx.attempts++
		tx.last = now
		tx.rto *= 2
		if tx.attempts == c.a.cfg.Rc {
			tx.rto = time.Duration(c.a.cfg.Rm) * c.a.cfg.RTO
		}
		tx.next = now.Add(tx.rto)
		c.a.stats.checks.Add(1)
		c.a.stats.retrans.Add(1)
		c.a.conn.WriteToUDPAddrPort(tx.wire, tx.p.Remote.Addr)
		c.a.trace(Event{Kind: EventCheck, From: tx.p.Local.Addr, To: tx.p.Remote.Addr,
			Attempt: tx.attempts, Pair: tx.p.Pair,
			Text: fmt.Sprintf("check to %s resent (attempt %d)", tx.p.Remote.Short(), tx.attempts)})
	}
}

func (c *checker) setState(p *pair, s PairState) {
	if p.State == s {
		return
	}
	p.State = s
	c.a.trace(Event{Kind: EventPairState, Pair: p.Pair,
		Text: fmt.Sprintf("pair %v: %s", p.Pair, s)})
}

// trigger puts p in the triggered-check queue (section 7.3.1.4).
func (c *checker) trigger(p *pair) {
	if p.State == InProgress && p.tx != nil {
		p.tx.cancelled = true
	}
	c.setState(p, Waiting)
	if !p.queued {
		p.queued = true
		c.triggered = append(c.triggered, p)
	}
}

// handle takes one datagram from the socket.
func (c *checker) handle(pk packet) {
	if !stun.IsMessage(pk.b) {
		c.deliver(pk)
		return
	}
	m, err := stun.Decode(pk.b)
	// Section 7.2.4 and 7.3: ICE uses FINGERPRINT on every message.
	if err != nil || m.CheckFingerprint() != nil || m.Type.Method != stun.MethodBinding {
		c.a.stats.discarded.Add(1)
		return
	}
	switch m.Type.Class {
	case stun.ClassRequest:
		c.request(m, pk)
	case stun.ClassSuccess, stun.ClassError:
		c.response(m, pk.from)
	default:
		c.a.stats.discarded.Add(1) // indications are keepalives
	}
}

// deliver queues application data from a known remote candidate.
func (c *checker) deliver(pk packet) {
	known := slices.ContainsFunc(c.remote, func(r Candidate) bool { return r.Addr == pk.from })
	if !known {
		c.a.stats.dataDropped.Add(1)
		return
	}
	select {
	case c.a.data <- pk:
		c.a.stats.dataIn.Add(1)
	default:
		c.a.stats.dataDropped.Add(1)
	}
}

// request answers a check (section 7.3) and acts on it (7.3.1).
func (c *checker) request(m *stun.Message, pk packet) {
	c.a.stats.reqIn.Add(1)
	user, _ := m.Text(stun.AttrUsername)
	ours, theirs, _ := strings.Cut(user, ":")
	authentic := ours == c.a.cfg.Ufrag && theirs != "" &&
		m.CheckIntegrity(stun.ShortTermKey(c.a.cfg.Pwd)) == nil
	prio, perr := m.Priority()
	ctl, tb, hasRole := m.ICERole()
	if authentic && len(m.UnknownRequired()) == 0 {
		switch {
		case perr != nil || !hasRole:
			c.reply(m, pk.from, stun.CodeBadRequest, "Bad Request: PRIORITY and a role are required")
			return
		case ctl == c.controlling && c.conflict(tb):
			c.reply(m, pk.from, stun.CodeRoleConflict, "Role Conflict")
			return
		}
	}
	resp := c.srv.Handle(pk.b, pk.from)
	if resp == nil {
		c.a.stats.discarded.Add(1)
		return
	}
	c.a.conn.WriteToUDPAddrPort(resp, pk.from)
	if !authentic || len(m.UnknownRequired()) > 0 {
		c.a.stats.errOut.Add(1)
		c.a.trace(Event{Kind: EventRequest, From: pk.from, To: c.host.Addr, Msg: m,
			Text: "refused a check from " + pk.from.String() + " (bad credentials or attributes)"})
		return
	}
	c.a.stats.respOut.Add(1)
	c.a.trace(Event{Kind: EventRequest, From: pk.from, To: c.host.Addr, Msg: m,
		Text: fmt.Sprintf("answered a check from %s: %s; success, XOR-MAPPED-ADDRESS %s",
			pk.from, describe(m), pk.from)})
	if c.remoteUfrag != "" && theirs != c.remoteUfrag {
		return // a check from another session: answered, nothing more
	}
	// 7.3.1.3: a source we do not know is a peer-reflexive candidate.
	rc := Candidate{Foundation: "prflx" + fmt.Sprint(len(c.remote)), Component: 1,
		Transport: "UDP", Priority: prio, Addr: pk.from, Type: PeerReflexive}
	if i := slices.IndexFunc(c.remote, func(r Candidate) bool { return r.Addr == pk.from }); i >= 0 {
		rc = c.remote[i]
	} else if c.addRemote(rc) == nil {
		c.a.trace(Event{Kind: EventPeerReflexive, From: pk.from,
			Text: "learned peer-reflexive remote candidate " + rc.Short()})
	}
	// 7.3.1.4: a triggered check back, unless the pair already works.
	p := c.find(pk.from)
	if p == nil || c.selected != nil {
		return
	}
	if p.State != Succeeded {
		c.trigger(p)
	}
	// 7.3.1.5: the controlling agent nominated this pair.
	if m.UseCandidate() && !c.controlling {
		if p.State == Succeeded && p.valid != nil {
			c.selectPair(p.valid)
		} else {
			p.nominate = true
		}
	}
}

// conflict applies section 7.3.1.1 to a request that claims our role
// with tiebreaker tb: it reports whether to answer 487 (we keep our
// role), or switches our role and reports false.
func (c *checker) conflict(tb uint64) bool {
	if c.controlling == (c.tiebreaker >= tb) {
		return true
	}
	c.switchRole()
	return false
}

func (c *checker) switchRole() {
	c.controlling = !c.controlling
	for _, p := range c.list {
		p.Priority = c.pairPriority(p.Local, p.Remote)
	}
	for _, v := range c.valid {
		v.Priority = c.pairPriority(v.Local, v.Remote)
	}
	c.sort()
	role := map[bool]string{true: "controlling", false: "controlled"}[c.controlling]
	c.a.trace(Event{Kind: EventRoleSwitch, Text: "role conflict: now " + role})
}

// reply sends an error response signed with our password.
func (c *checker) reply(req *stun.Message, to netip.AddrPort, code int, reason string) {
	m := &stun.Message{Type: stun.BindingError, TransactionID: req.TransactionID}
	m.AddErrorCode(code, reason)
	m.AddIntegrity(stun.ShortTermKey(c.a.cfg.Pwd))
	m.AddFingerprint()
	c.a.stats.errOut.Add(1)
	c.a.conn.WriteToUDPAddrPort(m.Encode(), to)
	c.a.trace(Event{Kind: EventRequest, From: to, To: c.host.Addr, Msg: req,
		Text: fmt.Sprintf("answered a check from %s with %d %s", to, code, reason)})
}

// response processes the answer to one of our checks (section 7.2.5).
func (c *checker) response(m *stun.Message, from netip.AddrPort) {
	tx := c.txs[m.TransactionID]
	if tx == nil {
		c.a.stats.discarded.Add(1)
		return
	}
	// A success must be signed with the password we used; an error
	// without integrity (400, 401) is believed, one with a bad one not.
	if (m.Type.Class == stun.ClassSuccess || m.HasIntegrity()) &&
		m.CheckIntegrity(stun.ShortTermKey(tx.pwd)) != nil {
		c.a.stats.discarded.Add(1)
		return
	}
	delete(c.txs, m.TransactionID)
	p := tx.p
	if p.tx == tx {
		p.tx = nil
	}
	rtt := time.Since(tx.last)
	c.a.trace(Event{Kind: EventResponse, From: from, To: c.host.Addr, Msg: m, Pair: p.Pair,
		Text: fmt.Sprintf("%v from %s in %v", m.Type, from, rtt.Round(10*time.Microsecond))})
	if from != p.Remote.Addr { // 7.2.5.2.1: not symmetric
		c.setState(p, Failed)
		return
	}
	if m.Type.Class == stun.ClassError {
		ec, _ := m.ErrorCode()
		if ec.Code == stun.CodeRoleConflict { // 7.2.5.1
			if tx.controlling == c.controlling { // not switched since
				c.switchRole()
				c.tiebreaker = randomTiebreaker()
			}
			c.trigger(p)
			return
		}
		c.setState(p, Failed)
		return
	}
	mapped, err := m.XORMappedAddress()
	if err != nil {
		c.setState(p, Failed)
		return
	}
	// 7.2.5.3.1: a mapped address we do not know is a peer-reflexive
	// local candidate, with the priority we put in PRIORITY.
	i := slices.IndexFunc(c.local, func(l Candidate) bool { return l.Addr == mapped })
	if i < 0 {
		c.local = append(c.local, Candidate{
			Foundation: Foundation(PeerReflexive, c.host.Addr.Addr(), netip.AddrPort{}),
			Component:  1, Transport: "UDP", Priority: tx.priority, Addr: mapped,
			Type: PeerReflexive, Related: c.host.Addr})
		i = len(c.local) - 1
		c.a.trace(Event{Kind: EventPeerReflexive,
			Text: "learned peer-reflexive local candidate " + c.local[i].Short()})
	}
	// 7.2.5.3.2: the valid pair is (mapped address, where we sent).
	v := c.validPair(c.local[i], p.Remote)
	v.RTT = rtt
	p.valid = v
	c.setState(p, Succeeded)
	if c.firstValid.IsZero() {
		c.firstValid = time.Now()
	}
	// 7.2.5.3.4: a nomination that succeeded concludes ICE.
	if tx.use || !c.controlling && p.nominate {
		c.selectPair(v)
	}
}

func (c *checker) validPair(local, remote Candidate) *Pair {
	for _, v := range c.valid {
		if v.Local.Addr == local.Addr && v.Remote.Addr == remote.Addr {
			return v
		}
	}
	v := &Pair{Local: local, Remote: remote, State: Succeeded,
		Priority: c.pairPriority(local, remote)}
	c.valid = append(c.valid, v)
	return v
}

// maybeNominate is the controlling agent's choice (section 8.1.1): the
// best valid pair, once no pair of higher priority is still waiting or
// in progress, or once NominationWait has passed since the first valid
// pair. Its check is repeated with USE-CANDIDATE.
func (c *checker) maybeNominate(now time.Time) {
	if !c.controlling || c.nominating || c.selected != nil || len(c.valid) == 0 {
		return
	}
	var best *pair
	for _, p := range c.list {
		if p.State == Succeeded && p.valid != nil && (best == nil || p.valid.Priority > best.valid.Priority) {
			best = p
		}
	}
	if best == nil {
		return
	}
	pending := slices.ContainsFunc(c.list, func(p *pair) bool {
		return p.Priority > best.Priority && (p.State == Waiting || p.State == InProgress)
	})
	if pending && now.Before(c.firstValid.Add(c.a.cfg.NominationWait)) {
		return
	}
	c.nominating = true
	best.nominate = true
	c.trigger(best)
}

// selectPair concludes ICE (section 8.1.2): the pair is nominated and
// selected, and no more checks go out; the agent keeps answering them.
func (c *checker) selectPair(v *Pair) {
	if c.selected != nil {
		return
	}
	v.Nominated = true
	c.selected = v
	sel := *v
	c.a.selected.Store(&sel)
	c.triggered = nil
	clear(c.txs)
	c.a.trace(Event{Kind: EventSelected, Pair: sel,
		Text: fmt.Sprintf("selected %v (nominated)", sel)})
	close(c.a.done) // after the trace: Connect's caller sees it done
}

// describe lists a check's ICE attributes for a narrative.
func describe(m *stun.Message) string {
	var parts []string
	if u, err := m.Text(stun.AttrUsername); err == nil {
		parts = append(parts, "USERNAME="+u)
	}
	if p, err := m.Priority(); err == nil {
		parts = append(parts, fmt.Sprintf("PRIORITY=%d", p))
	}
	if ctl, tb, ok := m.ICERole(); ok {
		name := map[bool]string{true: "ICE-CONTROLLING", false: "ICE-CONTROLLED"}[ctl]
		parts = append(parts, fmt.Sprintf("%s=%016x", name, tb))
	}
	if m.UseCandidate() {
		parts = append(parts, "USE-CANDIDATE")
	}
	return strings.Join(parts, " ")
}
