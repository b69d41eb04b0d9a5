package netem

import (
	"fmt"
	"net/netip"
	"sync"

	"backend-protocols/internal/netns"
)

// Chain is a line of hosts, each in its own network namespace, joined by
// Links: a client, zero or more routers, and a server. Link i joins
// Hosts[i] and Hosts[i+1] on the subnet 10.0.i.0/24, where Hosts[i] is
// 10.0.i.1 and Hosts[i+1] is 10.0.i.2. A host's interface toward the
// client is eth0, and a router's toward the server is eth1. Routers forward
// (net.ipv4.ip_forward=1), and every host has routes to every subnet, so
// any host reaches any other, across real hops that decrement the TTL.
type Chain struct {
	Hosts []*netns.NS // client first, server last
	Links []*Link     // Links[i] joins Hosts[i] and Hosts[i+1]
}

// maxHops bounds the namespaces one chain makes.
const maxHops = 16

// NewPair makes a client and a server joined by one link: up applies to
// packets from the client to the server, down to the answers.
func NewPair(up, down Path) (*Chain, error) {
	return NewChain(Hop{Up: up, Down: down})
}

// NewChain makes a chain of len(hops) links: with one hop, a client and a
// server; with two, client, router and server; and so on.
func NewChain(hops ...Hop) (*Chain, error) {
	if len(hops) < 1 || len(hops) > maxHops {
		return nil, fmt.Errorf("netem: chain of %d hops, want 1 to %d",
			len(hops), maxHops)
	}
	c := &Chain{}
	if err := c.build(hops); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Chain) build(hops []Hop) error {
	n := len(hops) + 1
	for i := range n {
		name := fmt.Sprintf("router%d", i)
		switch {
		case i == 0:
			name = "client"
		case i == n-1:
			name = "server"
		case n == 3:
			name = "router"
		}
		h, err := netns.New(name)
		if err != nil {
			return err
		}
		c.Hosts = append(c.Hosts, h)
		if i > 0 && i < n-1 {
			if err := h.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
				return err
			}
		}
	}
	for i, hop := range hops {
		right := "eth1"
		if i == 0 {
			right = "eth0"
		}
		l, err := NewLink(
			End{NS: c.Hosts[i], Dev: right, Addr: subnetAddr(i, 1)},
			End{NS: c.Hosts[i+1], Dev: "eth0", Addr: subnetAddr(i, 2)},
			hop)
		if err != nil {
			return err
		}
		c.Links = append(c.Links, l)
	}
	// Routes to the subnets a host is not on: leftward through its left
	// neighbour, rightward through its right one.
	for h, host := range c.Hosts {
		for s := range hops {
			var via netip.Addr
			switch {
			case s < h-1:
				via = subnetAddr(h-1, 1).Addr()
			case s > h:
				via = subnetAddr(h, 2).Addr()
			default:
				continue // a subnet the host is on
			}
			if err := host.AddRoute(subnetAddr(s, 0).Masked(), via); err != nil {
				return err
			}
		}
	}
	return nil
}

// subnetAddr returns host number host on link i's subnet, 10.0.i.host/24.
func subnetAddr(i, host int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), byte(host)}), 24)
}

// Client is the first host.
func (c *Chain) Client() *netns.NS { return c.Hosts[0] }

// Server is the last host.
func (c *Chain) Server() *netns.NS { return c.Hosts[len(c.Hosts)-1] }

// Addr returns host i's address on its link toward the client (for the
// client, its only address): the server's address for i = len(Hosts)-1,
// and for a router the address a traceroute from the client shows.
func (c *Chain) Addr(i int) netip.Addr {
	if i == 0 {
		return subnetAddr(0, 1).Addr()
	}
	return subnetAddr(i-1, 2).Addr()
}

// Close closes the links, then the hosts' namespaces. Sockets still open
// in a namespace keep it alive, without interfaces, until they close.
func (c *Chain) Close() error {
	var wg sync.WaitGroup
	for _, l := range c.Links {
		// The hosts go too: let the kernel delete the interfaces.
		wg.Go(func() { l.close(false) })
	}
	wg.Wait()
	for _, h := range c.Hosts {
		h.Close()
	}
	return nil
}
