package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/net/ipv4"

	"backend-protocols/02-protocols/osi/layers"
	"backend-protocols/internal/netem"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
)

// result is what the scenario saw, for the tests.
type result struct {
	Sockets map[string]error // which ICMP sockets opened on this host
	Local   []answer         // pings of 127.0.0.1

	NoNamespaces string // why the namespace part did not run
	Addrs        []netip.Addr
	NSPing       answer   // a ping socket in the client namespace
	Hops         []answer // the traceroute, TTL 1 upward
	MTU          mtuResult
}

const (
	probeTimeout = 2 * time.Second
	oneWay       = 5 * time.Millisecond // per link, each way
	smallMTU     = 1000                 // the router1-router2 link
)

func scenario(ctx context.Context, tl *timeline.Timeline) (*result, error) {
	res := &result{Sockets: map[string]error{}}
	if err := localPing(tl, res); err != nil {
		return res, fmt.Errorf("ping: %w", err)
	}
	if err := netns.Available(); err != nil {
		res.NoNamespaces = err.Error()
		tl.Printf("")
		tl.Note("ip", "skipping traceroute and MTU: %v", err)
		return res, nil
	}
	return res, hops(ctx, tl, res)
}

// localPing pings 127.0.0.1 with whichever ICMP sockets this process may
// open, and prints the reply's IPv4 header where the socket shows it.
func localPing(tl *timeline.Timeline, res *result) error {
	tl.Printf("== ICMP echo on this host ==")
	rng, _ := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	tl.Note("host", "uid %d, gid %d; net.ipv4.ping_group_range is %q "+
		"(the groups allowed unprivileged ping sockets)", os.Getuid(), os.Getgid(),
		strings.Join(strings.Fields(string(rng)), " "))
	dst := netip.MustParseAddr("127.0.0.1")
	for _, s := range []struct {
		kind string
		open func() (*pinger, error)
	}{{"udp4 ping socket", newPingSocket}, {"raw ip4:icmp socket", newRawPinger}} {
		p, err := s.open()
		res.Sockets[s.kind] = err
		if err != nil {
			tl.Note("host", "%s: %v", s.kind, err)
			continue
		}
		tl.Note("host", "%s: open", s.kind)
		for seq := 1; seq <= 3; seq++ {
			a, err := p.probe(dst, 64, seq, probeTimeout)
			if err != nil {
				// Loopback down, say, in a fresh namespace: say so and go on.
				tl.Note("host", "ping %v: %v", dst, err)
				break
			}
			res.Local = append(res.Local, a)
			tl.Send(dst.String(), "host", "%v seq=%d ttl=%d time=%s (%s)", a.Type, seq,
				a.TTL, rtt(a.RTT), p.kind)
		}
		p.Close()
	}
	for _, a := range res.Local {
		if a.IP != nil {
			printHeader(tl, a)
			return nil
		}
	}
	opened := false
	for _, err := range res.Sockets {
		opened = opened || err == nil
	}
	switch {
	case !opened:
		tl.Note("host", "no ICMP socket here: run as root, or allow your group in "+
			"net.ipv4.ping_group_range (sysctl -w net.ipv4.ping_group_range=\"0 2147483647\")")
	case len(res.Local) > 0:
		tl.Note("host", "a ping socket does not show the IPv4 header (only its TTL); "+
			"a raw socket, as root, does")
	}
	return nil
}

func rtt(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
}

func printHeader(tl *timeline.Timeline, a answer) {
	h := a.IP
	flags := "none"
	if h.Flags&ipv4.DontFragment != 0 {
		flags = "DF"
	}
	valid := "valid"
	if layers.Checksum(a.Raw) != 0 {
		valid = "INVALID"
	}
	tl.Printf("the echo reply's IPv4 header, as the raw socket read it (% x):", a.Raw)
	tl.Printf("  version %d, IHL %d bytes, TOS %d, total length %d, id %d",
		h.Version, h.Len, h.TOS, h.TotalLen, h.ID)
	tl.Printf("  flags %s, fragment offset %d, TTL %d, protocol %d (ICMP), checksum %#04x (%s)",
		flags, h.FragOff, h.TTL, h.Protocol, h.Checksum, valid)
	tl.Printf("  %v -> %v", h.Src, h.Dst)
}

// hops builds client - router1 - router2 - server in network namespaces
// and runs the ping, the traceroute and the MTU experiments across them.
func hops(ctx context.Context, tl *timeline.Timeline, res *result) error {
	taps := newTaps()
	path := netem.Path{Delay: oneWay}
	chain, err := netem.NewChain(
		netem.Hop{Up: path, Down: path, Tap: taps.first},
		netem.Hop{Up: path, Down: path, MTU: smallMTU, Tap: taps.middle},
		netem.Hop{Up: path, Down: path})
	if err != nil {
		return err
	}
	defer chain.Close()
	names := []string{"client", "router1", "router2", "server"}
	for i := range chain.Hosts {
		res.Addrs = append(res.Addrs, chain.Addr(i))
	}
	server := res.Addrs[3]
	tl.Printf("")
	tl.Printf("== four namespaces, three links of %v each way ==", oneWay)
	tl.Printf("  client %v --- router1 %v --- router2 %v --- server %v",
		res.Addrs[0], res.Addrs[1], res.Addrs[2], server)
	tl.Printf("  (router1 - router2 carries at most %d-byte packets; routers forward)",
		smallMTU)

	// A ping socket needs no privilege where the group range allows it,
	// and the range is per namespace: allow our own group there.
	cli := chain.Client()
	groups := fmt.Sprintf("%d %d", os.Getgid(), os.Getgid())
	if err := cli.Sysctl("net.ipv4.ping_group_range", groups); err != nil {
		return err
	}
	var ps *pinger
	if err := cli.Do(func() (err error) { ps, err = newPingSocket(); return err }); err != nil {
		return fmt.Errorf("ping socket in the client namespace: %w", err)
	}
	res.NSPing, err = ps.probe(server, 64, 1, probeTimeout)
	ps.Close()
	if err != nil {
		return err
	}
	tl.Note("client", "ping_group_range %q in the client namespace: a udp4 ping "+
		"socket works there", groups)
	tl.Send("server", "client", "%v from %v ttl=%d time=%s: 64 minus %d routers",
		res.NSPing.Type, res.NSPing.From, res.NSPing.TTL, rtt(res.NSPing.RTT),
		64-res.NSPing.TTL)

	tl.Printf("")
	tl.Printf("== traceroute: echo requests with TTL 1, 2, 3 ==")
	var raw *pinger
	if err := cli.Do(func() (err error) { raw, err = newRawPinger(); return err }); err != nil {
		return err
	}
	defer raw.Close()
	for ttl := 1; ttl <= len(chain.Hosts); ttl++ {
		a, err := raw.probe(server, ttl, 100+ttl, probeTimeout)
		if err != nil {
			return fmt.Errorf("TTL %d: %w", ttl, err)
		}
		res.Hops = append(res.Hops, a)
		who := "?"
		for i, addr := range res.Addrs {
			if addr == a.From {
				who = names[i]
			}
		}
		tl.Send(who, "client", "TTL %d: %v from %v in %s", ttl, a.Type, a.From, rtt(a.RTT))
		if a.Type == ipv4.ICMPTypeEchoReply {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return mtu(tl, chain, taps, res)
}
