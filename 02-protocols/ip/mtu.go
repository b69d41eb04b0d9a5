package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"backend-protocols/02-protocols/osi/layers"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/netem"
	"backend-protocols/internal/timeline"
)

// fragment is an IPv4 fragment seen on a link.
type fragment struct {
	ID     uint16
	Offset int // bytes into the original datagram's data
	MF     bool
	Len    int // the fragment's IPv4 total length
}

// taps watch the links' packets for the MTU experiment.
type taps struct {
	mu         sync.Mutex
	frags      []fragment // on router1-router2, toward the server
	fragNeeded []int      // next-hop MTUs quoted to the client
}

func newTaps() *taps { return &taps{} }

// first watches the client's link: ICMP "fragmentation needed" (type 3,
// code 4) coming back, whose bytes 6-7 are the next hop's MTU (RFC 1191).
func (t *taps) first(up bool, pkt []byte, dropped bool) {
	h, data, err := layers.ParseIPv4(pkt)
	if err != nil || up || h.Protocol != layers.ProtoICMP || len(data) < 8 ||
		data[0] != 3 || data[1] != 4 {
		return
	}
	t.mu.Lock()
	t.fragNeeded = append(t.fragNeeded, int(binary.BigEndian.Uint16(data[6:8])))
	t.mu.Unlock()
}

// middle watches the small-MTU link for fragments.
func (t *taps) middle(up bool, pkt []byte, dropped bool) {
	h, _, err := layers.ParseIPv4(pkt)
	if err != nil || !up || h.Protocol != layers.ProtoUDP ||
		(h.Flags&layers.FlagMF == 0 && h.FragOff == 0) {
		return
	}
	t.mu.Lock()
	if len(t.frags) < 64 {
		t.frags = append(t.frags, fragment{ID: h.ID, Offset: int(h.FragOff) * 8,
			MF: h.Flags&layers.FlagMF != 0, Len: int(h.TotalLen)})
	}
	t.mu.Unlock()
}

func (t *taps) snapshot() ([]fragment, []int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]fragment(nil), t.frags...), append([]int(nil), t.fragNeeded...)
}

type mtuResult struct {
	Size        int        // the datagram's payload
	Fragments   []fragment // DF clear: what router1 sent on
	Reassembled int        // DF clear: what the server read
	FragNeeded  int        // DF set: the MTU router1 quoted back
	PathMTU     int        // DF set: what the client's kernel learned
	SendErr     error      // DF set: the next send
	Delivered   bool       // DF set: whether the server got anything
}

// setPMTUDisc sets IP_MTU_DISCOVER: IP_PMTUDISC_DONT sends with DF clear
// (routers may fragment), IP_PMTUDISC_DO with DF set (they may not).
func setPMTUDisc(c net.Conn, mode int) error {
	return kernel.Control(c.(*net.UDPConn), func(fd int) error {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, mode)
	})
}

// pathMTU reads IP_MTU: the path MTU the kernel knows for a connected socket.
func pathMTU(c net.Conn) (int, error) {
	var mtu int
	err := kernel.Control(c.(*net.UDPConn), func(fd int) (err error) {
		mtu, err = unix.GetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU)
		return err
	})
	return mtu, err
}

// waitUntil polls cond for up to probeTimeout: ICMP errors and fragments
// arrive on the kernel's schedule, not on a signal a program can wait on.
func waitUntil(cond func() bool) bool {
	deadline := time.Now().Add(probeTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// mtu sends a datagram bigger than the router1-router2 link carries, first
// with DF clear, then with DF set.
func mtu(tl *timeline.Timeline, chain *netem.Chain, t *taps, res *result) error {
	m := &res.MTU
	m.Size = 1400
	tl.Printf("")
	tl.Printf("== MTU: a %d-byte UDP datagram across the %d-byte link ==", m.Size, smallMTU)
	server := netip.AddrPortFrom(res.Addrs[3], 9000)
	pc, err := chain.Server().ListenPacket("udp4", server.String())
	if err != nil {
		return err
	}
	defer pc.Close()
	buf := make([]byte, 65536)
	payload := []byte(strings.Repeat("x", m.Size))

	c1, err := chain.Client().Dial("udp4", server.String())
	if err != nil {
		return err
	}
	defer c1.Close()
	if err := setPMTUDisc(c1, unix.IP_PMTUDISC_DONT); err != nil {
		return err
	}
	if _, err := c1.Write(payload); err != nil {
		return err
	}
	tl.Send("client", "server", "%d bytes of data, DF clear: a %d-byte IPv4 packet",
		m.Size, m.Size+8+20)
	pc.SetReadDeadline(time.Now().Add(probeTimeout))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		return fmt.Errorf("DF clear: %w", err)
	}
	m.Reassembled = n
	m.Fragments, _ = t.snapshot()
	for _, f := range m.Fragments {
		more := ""
		if f.MF {
			more = ", more fragments"
		}
		tl.Send("router1", "router2", "fragment id %d: %d bytes, data offset %d%s",
			f.ID, f.Len, f.Offset, more)
	}
	tl.Note("server", "read %d bytes in one read: its kernel put the fragments back together", n)

	c2, err := chain.Client().Dial("udp4", server.String())
	if err != nil {
		return err
	}
	defer c2.Close()
	if err := setPMTUDisc(c2, unix.IP_PMTUDISC_DO); err != nil {
		return err
	}
	if _, err := c2.Write(payload); err != nil {
		return err
	}
	tl.Send("client", "server", "%d bytes of data, DF set", m.Size)
	if !waitUntil(func() bool { _, fn := t.snapshot(); return len(fn) > 0 }) {
		return errors.New("DF set: router1 sent no fragmentation-needed message")
	}
	_, fn := t.snapshot()
	m.FragNeeded = fn[0]
	tl.Send("router1", "client", "ICMP destination unreachable, fragmentation needed, "+
		"next-hop MTU %d", m.FragNeeded)
	waitUntil(func() bool { v, err := pathMTU(c2); return err == nil && v < 1500 })
	if m.PathMTU, err = pathMTU(c2); err != nil {
		return err
	}
	_, m.SendErr = c2.Write(payload)
	if m.SendErr == nil { // an error may be reported once, on either call
		_, m.SendErr = c2.Write(payload)
	}
	tl.Note("client", "the kernel now knows the path MTU is %d (IP_MTU); the next send: %v",
		m.PathMTU, m.SendErr)
	pc.SetReadDeadline(time.Now().Add(20 * oneWay))
	_, _, err = pc.ReadFrom(buf)
	m.Delivered = err == nil
	if !errors.Is(err, os.ErrDeadlineExceeded) && err != nil {
		return err
	}
	tl.Note("server", "received nothing with DF set: %v", !m.Delivered)
	return nil
}
