package main

import (
	"backend-protocols/internal/leak"
	"backend-protocols/internal/netns"
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"backend-protocols/02-protocols/osi/layers"
	"backend-protocols/internal/timeline"
)

func TestIP(t *testing.T) {
	fds := len(leak.FDs())
	res, err := scenario(context.Background(), timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if s := netns.StrayThreads(); len(s) > 0 {
		t.Errorf("threads left in a namespace: %v", s)
	}
	if now := leak.FDs(); len(now) > fds {
		t.Errorf("got %d descriptors open, had %d: %v", len(now), fds, now)
	}
	t.Run("echo on this host", func(t *testing.T) {
		if len(res.Local) == 0 {
			t.Skipf("no ICMP socket may be opened here: %v", res.Sockets)
		}
		for _, a := range res.Local {
			if a.Type != ipv4.ICMPTypeEchoReply || a.RTT <= 0 || a.RTT > time.Second {
				t.Errorf("got %v in %v, want an echo reply", a.Type, a.RTT)
			}
			if a.IP == nil {
				continue
			}
			h := a.IP
			// 20 bytes of IPv4, 8 of ICMP echo header, 22 of data.
			if h.Version != 4 || h.Len != 20 || h.Protocol != 1 || h.TTL != 64 ||
				h.TotalLen != 20+8+22 || h.FragOff != 0 {
				t.Errorf("got reply header %v", h)
			}
			if c := layers.Checksum(a.Raw); c != 0 {
				t.Errorf("header % x does not check: %#04x", a.Raw, c)
			}
		}
	})
	if res.NoNamespaces != "" {
		t.Skipf("no network namespaces: %s", res.NoNamespaces)
	}
	t.Run("ping socket in a namespace", func(t *testing.T) {
		a := res.NSPing
		if a.Type != ipv4.ICMPTypeEchoReply || a.From != res.Addrs[3] || a.TTL != 62 {
			t.Errorf("got %v from %v with TTL %d, want a reply from %v with TTL 62",
				a.Type, a.From, a.TTL, res.Addrs[3])
		}
	})
	t.Run("traceroute", func(t *testing.T) {
		want := []ipv4.ICMPType{ipv4.ICMPTypeTimeExceeded, ipv4.ICMPTypeTimeExceeded,
			ipv4.ICMPTypeEchoReply}
		if len(res.Hops) != len(want) {
			t.Fatalf("got %d hops, want %d", len(res.Hops), len(want))
		}
		for i, a := range res.Hops {
			if a.Type != want[i] || a.From != res.Addrs[i+1] {
				t.Errorf("TTL %d: got %v from %v, want %v from %v", i+1, a.Type, a.From,
					want[i], res.Addrs[i+1])
			}
			// Each hop is one more link away: 2 x 5 ms more, at least.
			if min := time.Duration(i+1) * 2 * oneWay; a.RTT < min {
				t.Errorf("TTL %d: got %v, want at least %v", i+1, a.RTT, min)
			}
		}
	})
	t.Run("fragmentation", func(t *testing.T) {
		m := res.MTU
		if len(m.Fragments) < 2 {
			t.Fatalf("got fragments %v, want the datagram split", m.Fragments)
		}
		data := 0
		for i, f := range m.Fragments {
			if f.Len > smallMTU || f.MF != (i < len(m.Fragments)-1) || f.Offset != data {
				t.Errorf("fragment %d: got %+v after %d bytes", i, f, data)
			}
			data += f.Len - 20
		}
		if data != m.Size+8 || m.Reassembled != m.Size {
			t.Errorf("got %d bytes in fragments, %d read; want %d and %d",
				data, m.Reassembled, m.Size+8, m.Size)
		}
	})
	t.Run("DF set", func(t *testing.T) {
		m := res.MTU
		if m.FragNeeded != smallMTU || m.PathMTU != smallMTU {
			t.Errorf("got next-hop MTU %d, path MTU %d; want %d", m.FragNeeded,
				m.PathMTU, smallMTU)
		}
		if !errors.Is(m.SendErr, syscall.EMSGSIZE) {
			t.Errorf("got %v, want EMSGSIZE", m.SendErr)
		}
		if m.Delivered {
			t.Error("a datagram with DF set crossed the small link")
		}
	})
}
