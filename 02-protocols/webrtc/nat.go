package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"time"

	"backend-protocols/02-protocols/webrtc/stun"
	"backend-protocols/internal/netem"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
)

// natLab is a small internet in network namespaces, made by this demo:
// private hosts, each behind its own NAT router, and a public host
// between them that runs the STUN and signaling servers.
//
//	alice 10.0.0.1 ── natA ── public 10.0.1.2 ── natB ── bob 10.0.3.2
//	           10.0.0.2 10.0.1.1         10.0.2.1 10.0.2.2 10.0.3.1
//
// Each NAT masquerades what leaves toward the public side (nft, like a
// home router: endpoint-independent mapping, the source port kept when
// it is free) and drops what comes in from that side unless it belongs
// to a flow the inside started, counting the drops. With one side only
// (for the browser test) it is alice, natA and public.
type natLab struct {
	chain *netem.Chain
	Alice *netns.NS
	NATA  *netns.NS
	Pub   *netns.NS
	NATB  *netns.NS // nil with one side
	Bob   *netns.NS // nil with one side
}

// Addresses in the lab.
var (
	aliceAddr  = netip.MustParseAddr("10.0.0.1")
	natAPublic = netip.MustParseAddr("10.0.1.1")
	publicAddr = netip.MustParseAddr("10.0.1.2")
	natBPublic = netip.MustParseAddr("10.0.2.2")
	bobAddr    = netip.MustParseAddr("10.0.3.2")
)

// natUnavailable says why the lab cannot be built here, or is nil.
func natUnavailable() error {
	if err := netns.Available(); err != nil {
		return err
	}
	if _, err := exec.LookPath("nft"); err != nil {
		return errors.New("nft not installed (Debian package nftables)")
	}
	return nil
}

// newNATLab builds the lab with one or two private sides; every link
// delays each packet by delay.
func newNATLab(sides int, delay time.Duration) (*natLab, error) {
	hop := netem.Hop{Up: netem.Path{Delay: delay}, Down: netem.Path{Delay: delay}}
	hops := []netem.Hop{hop, hop}
	if sides == 2 {
		hops = append(hops, hop, hop)
	}
	c, err := netem.NewChain(hops...)
	if err != nil {
		return nil, err
	}
	n := &natLab{chain: c, Alice: c.Hosts[0], NATA: c.Hosts[1], Pub: c.Hosts[2]}
	// Private hosts get a default route: Chromium gathers no host
	// candidate on a machine without one.
	err = n.Alice.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), c.Addr(1))
	if err == nil {
		err = nft(n.NATA, "eth1") // natA's public side faces the server end
	}
	if err == nil && sides == 2 {
		n.NATB, n.Bob = c.Hosts[3], c.Hosts[4]
		err = n.Bob.AddRoute(netip.MustParsePrefix("0.0.0.0/0"),
			netip.MustParseAddr("10.0.3.1"))
		if err == nil {
			err = nft(n.NATB, "eth0") // natB's public side faces the client end
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return n, nil
}

// Close removes the namespaces.
func (n *natLab) Close() error { return n.chain.Close() }

// natRules is a home router: masquerade out of the public interface,
// and accept from it only packets of flows started inside.
const natRules = `table ip nat {
	counter unsolicited { }
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "OUT" masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "OUT" ct state established,related accept
		iifname "OUT" counter name "unsolicited" drop
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "OUT" ct state established,related accept
		iifname "OUT" counter name "unsolicited" drop
	}
}
`

// nft loads natRules in router with out as its public interface.
func nft(router *netns.NS, out string) error {
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(strings.ReplaceAll(natRules, "OUT", out))
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := router.Do(cmd.Run); err != nil {
		return fmt.Errorf("nft in %s: %v: %s", router, err, msg.Bytes())
	}
	return nil
}

// dropped reads a router's count of unsolicited packets it dropped.
func dropped(router *netns.NS) (int, error) {
	cmd := exec.Command("nft", "-j", "list", "counter", "ip", "nat", "unsolicited")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := router.Do(cmd.Run); err != nil {
		return 0, fmt.Errorf("nft list counter in %s: %w", router, err)
	}
	var doc struct {
		Nftables []struct {
			Counter *struct{ Packets int } `json:"counter"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		return 0, err
	}
	for _, x := range doc.Nftables {
		if x.Counter != nil {
			return x.Counter.Packets, nil
		}
	}
	return 0, errors.New("nft printed no counter")
}

// punchResult is what hole punching by hand showed.
type punchResult struct {
	AliceSeen, BobSeen netip.AddrPort // what the STUN server saw of each
	FirstDropped       int            // natB's drop count rose by this for punch 1
	FirstArrived       bool           // bob got punch 1 (he must not)
	Back, Forth        bool           // punch 2 reached alice, punch 3 bob
}

// punch punches a UDP hole between alice and bob with plain datagrams,
// on sockets of their own: each learns its public address from the
// STUN server; alice's first datagram to bob's is dropped by natB (it
// is unsolicited) but leaves a mapping in natA, so bob's answer gets
// through natA, and from then on both directions work.
func (n *natLab) punch(ctx context.Context, stunAddr netip.AddrPort,
	tl *timeline.Timeline) (punchResult, error) {
	var res punchResult
	a, err := n.Alice.ListenPacket("udp", netip.AddrPortFrom(aliceAddr, 0).String())
	if err != nil {
		return res, err
	}
	defer a.Close()
	b, err := n.Bob.ListenPacket("udp", netip.AddrPortFrom(bobAddr, 0).String())
	if err != nil {
		return res, err
	}
	defer b.Close()
	ca, cb := a.(*net.UDPConn), b.(*net.UDPConn)
	for _, s := range []struct {
		name string
		conn *net.UDPConn
		seen *netip.AddrPort
	}{{"alice", ca, &res.AliceSeen}, {"bob", cb, &res.BobSeen}} {
		r, err := (&stun.Client{}).BindingUDP(ctx, s.conn, stunAddr)
		if err != nil {
			return res, fmt.Errorf("%s: STUN: %w", s.name, err)
		}
		*s.seen = r.Mapped
		tl.Note(s.name, "socket %v; the STUN server saw %v (RTT %s)",
			s.conn.LocalAddr(), r.Mapped, timeline.Ms(r.RTT))
	}
	before, err := dropped(n.NATB)
	if err != nil {
		return res, err
	}
	tl.Send("alice", "bob", "punch 1 to %v", res.BobSeen)
	ca.WriteToUDPAddrPort([]byte("punch 1"), res.BobSeen)
	// Wait for natB to count the drop: proof the datagram got there.
	deadline := time.Now().Add(2 * time.Second)
	for res.FirstDropped == 0 && time.Now().Before(deadline) {
		after, err := dropped(n.NATB)
		if err != nil {
			return res, err
		}
		res.FirstDropped = after - before
	}
	_, got := readWithin(cb, 20*time.Millisecond)
	res.FirstArrived = got != ""
	tl.Note("natB", "dropped %d unsolicited packet(s); bob received %q", res.FirstDropped, got)
	tl.Send("bob", "alice", "punch 2 to %v", res.AliceSeen)
	cb.WriteToUDPAddrPort([]byte("punch 2"), res.AliceSeen)
	from, got := readWithin(ca, 5*time.Second)
	res.Back = got == "punch 2"
	tl.Note("alice", "received %q from %v: natA let it in (punch 1 opened it)", got, from)
	tl.Send("alice", "bob", "punch 3 to %v", res.BobSeen)
	ca.WriteToUDPAddrPort([]byte("punch 3"), res.BobSeen)
	from, got = readWithin(cb, 5*time.Second)
	res.Forth = got == "punch 3"
	tl.Note("bob", "received %q from %v: natB lets it in now (punch 2 opened it)", got, from)
	return res, nil
}

// readWithin reads one datagram, or returns "" after d.
func readWithin(c *net.UDPConn, d time.Duration) (netip.AddrPort, string) {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 1500)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		return netip.AddrPort{}, ""
	}
	return from, string(buf[:n])
}
