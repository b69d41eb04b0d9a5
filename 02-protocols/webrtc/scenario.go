package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"backend-protocols/02-protocols/webrtc/ice"
	"backend-protocols/02-protocols/websockets/ws"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

// linkDelay is each lab link's one-way delay: alice's path to bob
// crosses four links, so a round trip between them is at least 8 of it.
const linkDelay = 5 * time.Millisecond

// pings is how many datagrams cross the selected pair and come back.
const pings = 20

// result is what the scenario measured.
type result struct {
	Mode string // "nat" (namespaces made by the demo) or "loopback"
	Why  string // why not nat

	Mapped    [2]netip.AddrPort // what STUN saw of alice's and bob's ICE sockets
	Redundant bool              // the srflx candidate equalled the host one
	Punch     *punchResult      // nat only

	Offer    string         // the SDP alice offered
	Relayed  int64          // messages the signaling server relayed
	Selected [2]ice.Pair    // as alice and bob selected it
	Stats    [2]ice.Stats   // their agents' counters
	Dropped  int            // unsolicited packets the NATs dropped during ICE
	Echoed   int            // pings that came back
	RTT      timing.Summary // of those pings, over the selected pair

	Forgotten bool              // the room was empty once both left
	Refused   map[string]string // what the signaling server refused, and how
}

// listenPacket listens in a namespace, or in the process's own for nil.
func listenPacket(ns *netns.NS, addr string) (*net.UDPConn, error) {
	var c net.PacketConn
	var err error
	if ns == nil {
		c, err = net.ListenPacket("udp", addr)
	} else {
		c, err = ns.ListenPacket("udp", addr)
	}
	if err != nil {
		return nil, err
	}
	return c.(*net.UDPConn), nil
}

// dialer dials from a namespace, or from the process's own for nil.
func dialer(ns *netns.NS) func(context.Context, string, string) (net.Conn, error) {
	if ns == nil {
		return (&net.Dialer{}).DialContext
	}
	return ns.DialContext
}

// side is one Go peer's place: its namespace (nil: this one) and the
// address its ICE socket binds.
type side struct {
	name string
	ns   *netns.NS
	bind string
}

func scenario(ctx context.Context, tl *timeline.Timeline, loopback bool) (*result, error) {
	res := &result{Mode: "loopback", Refused: map[string]string{}}
	var nat *natLab
	if err := natUnavailable(); loopback || err != nil {
		res.Why = "asked for loopback"
		if err != nil {
			res.Why = err.Error()
		}
	} else {
		var err error
		if nat, err = newNATLab(2, linkDelay); err != nil {
			return res, err
		}
		defer nat.Close()
		res.Mode = "nat"
	}

	// The public side: a STUN server, and the page and signaling server.
	var pub *netns.NS
	host, stunAt := "127.0.0.1", "127.0.0.1:0"
	sides := [2]side{{"alice", nil, "127.0.0.1:0"}, {"bob", nil, "127.0.0.1:0"}}
	if nat != nil {
		pub, host, stunAt = nat.Pub, publicAddr.String(), publicAddr.String()+":3478"
		sides = [2]side{{"alice", nat.Alice, aliceAddr.String() + ":0"},
			{"bob", nat.Bob, bobAddr.String() + ":0"}}
		tl.Printf("== the network: namespaces made by this demo, %s per link each way", linkDelay)
		tl.Printf("   alice 10.0.0.1 -- natA 10.0.0.2|10.0.1.1 -- public 10.0.1.2|10.0.2.1" +
			" -- natB 10.0.2.2|10.0.3.1 -- bob 10.0.3.2")
		tl.Printf("   natA and natB masquerade (nft) and drop unsolicited packets from outside")
	} else {
		tl.Printf("== the network: loopback (%s)", res.Why)
		tl.Printf("   no NAT here: a server-reflexive candidate equals the host one")
	}
	srv, err := startServing(ctx, pub, host+":0", stunAt, timeline.Quiet())
	if err != nil {
		return res, err
	}
	defer srv.Close()
	st := srv.STUN
	tl.Note("public", "STUN server on udp %s; page and signaling on http://%s", st.Addr(), srv.Addr)

	if nat != nil {
		tl.Printf("")
		tl.Printf("== hole punching by hand: plain datagrams, sockets of their own")
		p, err := nat.punch(ctx, st.Addr(), tl)
		if err != nil {
			return res, err
		}
		res.Punch = &p
	}
	var count func() int
	if nat != nil {
		count = func() int {
			a, _ := dropped(nat.NATA)
			b, _ := dropped(nat.NATB)
			return a + b
		}
	}
	room, err := meet(ctx, tl, srv.Addr, st.Addr(), sides, count, res)
	res.Relayed = srv.srv.sig.relayed.Load()
	if err != nil {
		return res, err
	}
	res.Forgotten = waitFor(2*time.Second, func() bool {
		n, ok := srv.srv.sig.peers(room)
		return ok && n == 0
	})
	tl.Note("signal", "room %s empty after both left: %v", room, res.Forgotten)
	tl.Printf("")
	tl.Printf("== what the signaling server refuses")
	refusals(ctx, tl, srv.Addr, room, dialer(sides[0].ns), res.Refused)
	return res, nil
}

// meet runs two Go peers through the signaling server at addr and the
// STUN server at stunAddr: gathering, the offer and answer, ICE, pings
// over the selected pair, and leaving. dropped, if set, counts the
// packets the NATs dropped so far. It returns the room it used.
func meet(ctx context.Context, tl *timeline.Timeline, addr string, stunAddr netip.AddrPort,
	sides [2]side, dropped func() int, res *result) (string, error) {
	tl.Printf("")
	tl.Printf("== gathering: each peer's ICE socket asks the STUN server who it is")
	names := map[netip.AddrPort]string{}
	var peers [2]*goPeer
	for i, s := range sides {
		c, err := listenPacket(s.ns, s.bind)
		if err != nil {
			return "", err
		}
		p, err := newGoPeer(s.name, c, stunAddr, i == 0, tl, names)
		if err != nil {
			c.Close()
			return "", err
		}
		defer p.agent.Close()
		if err := p.gather(ctx); err != nil {
			return "", err
		}
		res.Mapped[i] = p.g.STUN.Mapped
		res.Redundant = res.Redundant || p.g.Redundant
		peers[i] = p
	}
	// The narrative names addresses by who is behind them. (Written
	// before any check can run: the agents learn remote candidates
	// only after this.)
	for _, p := range peers {
		for _, c := range p.g.Candidates {
			names[c.Addr] = p.name
		}
		names[p.g.STUN.Mapped] = p.name
	}
	alice, bob := peers[0], peers[1]

	tl.Printf("")
	tl.Printf("== signaling: a room, two WebSockets, the offer, the answer, candidates")
	room, err := createRoom(ctx, "http://"+addr, dialer(sides[0].ns))
	if err != nil {
		return "", err
	}
	tl.Send("alice", "signal", "POST /rooms -> room %s", room)
	url := "ws://" + addr + "/signal?room=" + room
	for i, p := range peers {
		if err := p.join(ctx, url, dialer(sides[i].ns)); err != nil {
			return room, err
		}
		go p.run()
		defer p.leave()
	}
	before := 0
	if dropped != nil {
		before = dropped()
	}
	select {
	case <-alice.remote:
	case <-ctx.Done():
		return room, ctx.Err()
	}
	alice.mu.Lock()
	res.Offer = alice.offer
	alice.mu.Unlock()
	tl.Dump("the offer alice sent (SDP)", []byte(res.Offer))

	tl.Printf("")
	tl.Printf("== ICE: connectivity checks (STUN with short-term credentials) on every pair")
	cctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	for i, p := range peers {
		sel, err := p.agent.Connect(cctx)
		if err != nil {
			list, _ := p.agent.Pairs()
			return room, fmt.Errorf("%s: no pair selected: %w (checklist %v; signaling %v)",
				p.name, err, list, p.err())
		}
		res.Selected[i] = sel
	}
	if dropped != nil {
		res.Dropped = dropped() - before
		tl.Note("nats", "dropped %d unsolicited packets during the checks", res.Dropped)
		tl.Printf("   (a check to a host address behind the other NAT never gets through;" +
			" one to a public address")
		tl.Printf("   does once the other side's own check has opened its NAT, and the" +
			" triggered check answers it)")
	}
	for _, p := range peers {
		list, _ := p.agent.Pairs()
		for _, q := range list {
			tl.Note(p.name, "checklist: %-44v %v", q, q.State)
		}
		st := p.agent.Stats()
		tl.Note(p.name, "%d checks sent (%d resent), %d received and answered",
			st.ChecksSent, st.Retransmits, st.ResponsesOut)
	}

	tl.Printf("")
	tl.Printf("== data over the selected pair: %d pings, one at a time", pings)
	res.Echoed, res.RTT, err = pingPong(ctx, alice.agent, bob.agent)
	if err != nil {
		return room, err
	}
	tl.Note("alice", "%d of %d pings came back; RTT %s", res.Echoed, pings, res.RTT)
	if dropped != nil {
		tl.Printf("   (alice to bob crosses four links of %s each way: 8 x %s = %s at least)",
			linkDelay, linkDelay, 8*linkDelay)
	}
	for i, p := range peers {
		res.Stats[i] = p.agent.Stats()
	}

	tl.Printf("")
	tl.Printf("== leaving")
	alice.leave()
	bob.leave()
	return room, nil
}

// createRoom asks the signaling server for a room.
func createRoom(ctx context.Context, base string,
	dial func(context.Context, string, string) (net.Conn, error)) (string, error) {
	c := &http.Client{Transport: &http.Transport{DialContext: dial}}
	defer c.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/rooms", nil)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct{ Room string }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 201 {
		return "", fmt.Errorf("POST /rooms: %s, %v", resp.Status, err)
	}
	return r.Room, nil
}

// pingPong sends pings from a to b one at a time, b echoing them, and
// times each round trip. A ping not answered within pingWait is counted
// as lost (UDP does not resend) and the next one goes.
func pingPong(ctx context.Context, a, b *ice.Agent) (int, timing.Summary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	echo := make(chan struct{})
	go func() {
		defer close(echo)
		for {
			msg, _, err := b.Read(ctx)
			if err != nil {
				return
			}
			b.Write(append([]byte("pong"), msg[4:]...))
		}
	}()
	defer func() { cancel(); <-echo }()
	var rtts []time.Duration
	for i := range pings {
		t0 := time.Now()
		if err := a.Write(fmt.Appendf(nil, "ping %d", i)); err != nil {
			return len(rtts), timing.Summarize(rtts), err
		}
		want := fmt.Sprintf("pong %d", i)
		pctx, pcancel := context.WithTimeout(ctx, pingWait)
		for {
			msg, _, err := a.Read(pctx)
			if err != nil {
				break // lost, or ctx is done
			}
			if string(msg) == want {
				rtts = append(rtts, time.Since(t0))
				break
			}
			// A late answer to an earlier ping: skip it.
		}
		pcancel()
		if ctx.Err() != nil {
			return len(rtts), timing.Summarize(rtts), ctx.Err()
		}
	}
	return len(rtts), timing.Summarize(rtts), nil
}

// pingWait is how long a ping may take before it counts as lost.
const pingWait = 3 * time.Second

// refusals shows two of the signaling server's refusals: an unknown
// room (404 before the upgrade) and an oversized message (1009).
func refusals(ctx context.Context, tl *timeline.Timeline, addr, room string,
	dial func(context.Context, string, string) (net.Conn, error), out map[string]string) {
	_, resp, err := ws.Dial(ctx, "ws://"+addr+"/signal?room=nosuchroom",
		&ws.DialOptions{NetDial: dial})
	if resp != nil {
		out["unknown room"] = resp.Status
	}
	tl.Note("signal", "join room nosuchroom: %v", err)
	c, _, err := ws.Dial(ctx, "ws://"+addr+"/signal?room="+room, &ws.DialOptions{NetDial: dial})
	if err != nil {
		out["oversized message"] = err.Error()
		return
	}
	defer c.NetConn().Close()
	c.ReadMessage() // welcome
	big := `{"type":"offer","data":"` + strings.Repeat("x", 20<<10) + `"}`
	c.WriteMessage(ws.OpText, []byte(big))
	_, _, err = c.ReadMessage()
	out["oversized message"] = fmt.Sprint(ws.CloseStatus(err))
	tl.Note("signal", "a %d-byte message: %v", len(big), err)
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// check returns an error unless the scenario showed what it teaches.
func check(res *result) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if res.Mode == "nat" {
		p := res.Punch
		switch {
		case p.AliceSeen.Addr() != natAPublic || p.BobSeen.Addr() != natBPublic:
			fail("STUN saw alice as %v and bob as %v, want natA's %v and natB's %v",
				p.AliceSeen, p.BobSeen, natAPublic, natBPublic)
		case p.FirstDropped < 1 || p.FirstArrived:
			fail("punch 1: natB dropped %d, bob got it %v; want dropped, not received",
				p.FirstDropped, p.FirstArrived)
		case !p.Back || !p.Forth:
			fail("after the punch: bob->alice %v, alice->bob %v, want both", p.Back, p.Forth)
		}
		if res.Selected[0].Local.Type != ice.ServerReflexive ||
			res.Selected[0].Remote.Type != ice.ServerReflexive {
			fail("alice selected %v, want server-reflexive on both ends", res.Selected[0])
		}
		if rtt := 8 * linkDelay; res.RTT.Min < rtt {
			fail("ping RTT %v under the %v the links add", res.RTT.Min, rtt)
		}
	} else if !res.Redundant || res.Selected[0].Local.Type != ice.Host {
		fail("on loopback: srflx redundant %v, selected %v; want redundant and host",
			res.Redundant, res.Selected[0])
	}
	a, b := res.Selected[0], res.Selected[1]
	if a.Local.Addr != b.Remote.Addr || a.Remote.Addr != b.Local.Addr {
		fail("alice selected %v and bob %v: not the same pair", a, b)
	}
	if res.Echoed != pings {
		fail("%d of %d pings came back", res.Echoed, pings)
	}
	if res.Relayed < 2 || !strings.Contains(res.Offer, "a=ice-ufrag:") {
		fail("signaling relayed %d messages, offer %q", res.Relayed, res.Offer)
	}
	if !res.Forgotten {
		fail("the room still holds peers after both left")
	}
	if res.Refused["unknown room"] != "404 Not Found" || res.Refused["oversized message"] != "1009" {
		fail("refusals %v, want 404 for an unknown room and 1009 for a big message", res.Refused)
	}
	return errors.Join(errs...)
}
