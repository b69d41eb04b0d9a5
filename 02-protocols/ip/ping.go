package main

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// answer is what came back for one probe.
type answer struct {
	From netip.Addr
	Type icmp.Type // ipv4.ICMPTypeEchoReply, ICMPTypeTimeExceeded, ...
	RTT  time.Duration
	TTL  int          // of the packet that carried the answer
	IP   *ipv4.Header // the answer's IPv4 header, when the socket gives it
	Raw  []byte       // that header as received
}

// pinger sends ICMP echo requests with a chosen TTL and reads what answers
// them. Two kinds of socket can: a raw ip4:icmp socket (root, or
// CAP_NET_RAW), which sees every ICMP message and the whole IPv4 header;
// and a "ping socket" (udp4; see icmp(7)), which needs no privilege where
// net.ipv4.ping_group_range includes the user's group, gets only the
// replies to its own requests, with the ID rewritten to its port, and no
// IPv4 header (the TTL comes in a control message).
type pinger struct {
	kind string // "raw" or "udp4"
	raw  *ipv4.RawConn
	ping *icmp.PacketConn
	id   int
}

// maxRead is the largest ICMP packet a pinger reads.
const maxRead = 1500

// newRawPinger opens a raw ICMP socket; it must run in the namespace the
// socket is for.
func newRawPinger() (*pinger, error) {
	c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return nil, err
	}
	// With IP_HDRINCL the program writes the IPv4 header itself (the
	// kernel fills in the ID, checksum, length and source) and reads it.
	r, err := ipv4.NewRawConn(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &pinger{kind: "raw", raw: r, id: rand.IntN(0xffff) + 1}, nil
}

// newPingSocket opens an unprivileged ICMP ping socket.
func newPingSocket() (*pinger, error) {
	c, err := icmp.ListenPacket("udp4", "0.0.0.0")
	if err != nil {
		return nil, err
	}
	if err := c.IPv4PacketConn().SetControlMessage(ipv4.FlagTTL, true); err != nil {
		c.Close()
		return nil, err
	}
	return &pinger{kind: "udp4", ping: c}, nil
}

func (p *pinger) Close() error {
	if p.raw != nil {
		return p.raw.Close()
	}
	return p.ping.Close()
}

// probe sends echo request seq to dst with the given TTL and waits up to
// timeout for the echo reply or the ICMP error it causes.
func (p *pinger) probe(dst netip.Addr, ttl, seq int, timeout time.Duration) (answer, error) {
	req := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: p.id, Seq: seq,
		Data: []byte("backend-protocols ping")}}
	b, err := req.Marshal(nil)
	if err != nil {
		return answer{}, err
	}
	start := time.Now()
	deadline := start.Add(timeout)
	if p.raw != nil {
		h := &ipv4.Header{Version: ipv4.Version, Len: ipv4.HeaderLen,
			TotalLen: ipv4.HeaderLen + len(b), TTL: ttl, Protocol: 1,
			Dst: net.IP(dst.AsSlice())}
		if err := p.raw.WriteTo(h, b, nil); err != nil {
			return answer{}, err
		}
		p.raw.SetReadDeadline(deadline)
	} else {
		pc := p.ping.IPv4PacketConn()
		if err := pc.SetTTL(ttl); err != nil {
			return answer{}, err
		}
		if _, err := p.ping.WriteTo(b, &net.UDPAddr{IP: net.IP(dst.AsSlice())}); err != nil {
			return answer{}, err
		}
		p.ping.SetReadDeadline(deadline)
	}
	buf := make([]byte, maxRead)
	for {
		a, body, err := p.read(buf)
		if err != nil {
			return answer{}, err
		}
		m, err := icmp.ParseMessage(1, body)
		if err != nil || !p.answers(m, seq) {
			continue // someone else's ICMP, or our own request looped back
		}
		a.Type, a.RTT = m.Type.(ipv4.ICMPType), time.Since(start)
		return a, nil
	}
}

// read returns the next ICMP message and who sent it.
func (p *pinger) read(buf []byte) (answer, []byte, error) {
	if p.raw != nil {
		h, body, _, err := p.raw.ReadFrom(buf)
		if err != nil {
			return answer{}, nil, err
		}
		raw, _ := h.Marshal()
		from, _ := netip.AddrFromSlice(h.Src.To4())
		return answer{From: from, TTL: h.TTL, IP: h, Raw: raw}, body, nil
	}
	n, cm, src, err := p.ping.IPv4PacketConn().ReadFrom(buf)
	if err != nil {
		return answer{}, nil, err
	}
	a := answer{}
	if cm != nil {
		a.TTL = cm.TTL
	}
	if u, ok := src.(*net.UDPAddr); ok {
		a.From, _ = netip.AddrFromSlice(u.IP.To4())
	}
	return a, buf[:n], nil
}

// answers reports whether m answers our echo request seq: the reply
// itself, or an error quoting it (RFC 792: the original IP header and
// the first 8 bytes of its data, which hold the echo's ID and sequence).
func (p *pinger) answers(m *icmp.Message, seq int) bool {
	switch body := m.Body.(type) {
	case *icmp.Echo:
		// A ping socket's ID is rewritten by the kernel, which also
		// delivers it only replies to its own requests.
		return m.Type == ipv4.ICMPTypeEchoReply && body.Seq == seq &&
			(p.raw == nil || body.ID == p.id)
	case *icmp.TimeExceeded:
		return p.quotes(body.Data, seq)
	case *icmp.DstUnreach:
		return p.quotes(body.Data, seq)
	}
	return false
}

func (p *pinger) quotes(data []byte, seq int) bool {
	h, err := ipv4.ParseHeader(data)
	if err != nil || len(data) < h.Len+8 {
		return false
	}
	e := data[h.Len:]
	id, s := int(e[4])<<8|int(e[5]), int(e[6])<<8|int(e[7])
	return e[0] == byte(ipv4.ICMPTypeEcho) && s == seq && (p.raw == nil || id == p.id)
}
