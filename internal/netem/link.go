package netem

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"backend-protocols/internal/netns"
)

// End is one side of a Link: a namespace, the name of the interface the
// link gets there, and its address.
type End struct {
	NS   *netns.NS
	Dev  string       // such as "eth0"
	Addr netip.Prefix // such as 10.0.0.1/24; the zero Prefix adds none
}

// With addresses on both Ends, each host gets a permanent neighbour entry
// for the other; without, ARP crosses the link like any other frame.

// Hop configures a Link: what happens to packets in each direction, and
// the largest IP packet it carries.
type Hop struct {
	Up   Path // from A to B (toward the server in a Chain)
	Down Path // from B to A
	MTU  int  // 1500 when zero
	// Tap, if set, sees every IP packet the link receives, before it is
	// delayed: up is true from A to B, dropped says whether the Path
	// dropped it. It runs on the goroutine that reads that direction, so
	// calls for the two directions may overlap; it must be quick and must
	// not keep pkt. Demos use it to draw flights and count bytes.
	Tap func(up bool, pkt []byte, dropped bool)
}

// Link is a point-to-point Ethernet cable between two namespaces that
// carries real packets with a Path applied to each direction. Each end is a
// veth interface whose peer sits in a hidden namespace of the link's own,
// where a forwarder reads every frame with a packet socket and sends it out
// of the other peer when its delay has passed. Only IP packets the hosts
// send cross it: ARP is never needed (each end knows the other's hardware
// address for good) and IPv6 is off on both interfaces. A Path's Drop
// function gets each IP packet (from its IPv4 header on) and its number in
// that direction, from 1.
type Link struct {
	wire     *netns.NS
	a, b     *packetConn // on the wire: a faces End A, b faces End B
	up, down *linkDir
	wg       sync.WaitGroup
	once     sync.Once
}

// linkDir is one direction of a link: its randomness, queue and counts.
type linkDir struct {
	up  bool
	tap func(up bool, pkt []byte, dropped bool)
	q   *queue[[]byte]

	mu    sync.Mutex
	c     *chooser
	stats Stats
}

// Wire-side interface names, inside the link's own namespace.
const wireA, wireB = "a", "b"

// NewLink joins a and b with a new link configured by h. The interfaces are
// up, addressed and ready when it returns; their checksum and segmentation
// offloads are off, so every frame is a real packet no bigger than the MTU.
func NewLink(a, b End, h Hop) (*Link, error) {
	wire, err := netns.New("wire")
	if err != nil {
		return nil, err
	}
	l := &Link{wire: wire}
	if err := l.setup(a, b, h.MTU); err != nil {
		l.close(true)
		return nil, fmt.Errorf("netem: link %s/%s - %s/%s: %w",
			a.NS, a.Dev, b.NS, b.Dev, err)
	}
	l.up = newLinkDir(true, h.Up, h.Tap, l.b)
	l.down = newLinkDir(false, h.Down, h.Tap, l.a)
	l.wg.Go(func() { l.forward(l.a, l.up) })
	l.wg.Go(func() { l.forward(l.b, l.down) })
	return l, nil
}

func (l *Link) setup(a, b End, mtu int) error {
	if err := netns.Veth(a.NS, a.Dev, l.wire, wireA, mtu); err != nil {
		return err
	}
	if err := netns.Veth(b.NS, b.Dev, l.wire, wireB, mtu); err != nil {
		return err
	}
	for _, e := range []End{a, b} {
		if e.Addr.IsValid() {
			if err := e.NS.AddAddr(e.Dev, e.Addr); err != nil {
				return err
			}
		}
		if err := e.NS.DisableOffloads(e.Dev); err != nil {
			return err
		}
	}
	if a.Addr.IsValid() && b.Addr.IsValid() {
		if err := neighbors(a, b); err != nil {
			return err
		}
		if err := neighbors(b, a); err != nil {
			return err
		}
	}
	var err error
	if l.a, err = openPacket(l.wire, wireA); err != nil {
		return err
	}
	l.b, err = openPacket(l.wire, wireB)
	return err
}

// neighbors tells from where to find to's address, so that no ARP request
// has to cross the link (it would cost the first packet a round trip).
func neighbors(from, to End) error {
	ifi, err := to.NS.Interface(to.Dev)
	if err != nil {
		return err
	}
	return from.NS.AddNeighbor(from.Dev, to.Addr.Addr(), ifi.HardwareAddr)
}

func newLinkDir(up bool, p Path, tap func(bool, []byte, bool), out *packetConn) *linkDir {
	d := &linkDir{up: up, tap: tap, c: newChooser(p)}
	d.q = newQueue(func(frame []byte) {
		if out.write(frame) != nil {
			d.mu.Lock()
			d.stats.Dropped++
			d.mu.Unlock()
		}
	})
	return d
}

// forward reads frames arriving from one end and hands them to d.
func (l *Link) forward(in *packetConn, d *linkDir) {
	buf := make([]byte, 1<<16)
	oob := make([]byte, 128)
	for {
		n, at, err := in.read(buf, oob)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil || n <= ethHeader {
			continue // e.g. ENETDOWN once, if an end was deleted
		}
		d.pass(append([]byte(nil), buf[:n]...), at)
	}
}

// pass applies the path to one frame that arrived at time at and queues
// what survives.
func (d *linkDir) pass(frame []byte, at time.Time) {
	pkt := frame[ethHeader:]
	d.mu.Lock()
	fate := d.c.next(pkt)
	d.stats.count(len(pkt), fate)
	d.mu.Unlock()
	if d.tap != nil {
		d.tap(d.up, pkt, fate.drop)
	}
	if fate.drop {
		return
	}
	// Count the delay from the kernel's arrival stamp, not from when this
	// goroutine got to run.
	lag := min(max(time.Since(at), 0), fate.delay)
	due := time.Now().Add(fate.delay - lag)
	for range fate.copies {
		if !d.q.push(due, frame) {
			d.mu.Lock()
			d.stats.Dropped++ // queue full: tail drop
			d.mu.Unlock()
		}
	}
}

// count records one packet of n bytes and what its path decided for it.
func (s *Stats) count(n int, f fate) {
	s.Packets++
	s.Bytes += n
	switch {
	case f.drop:
		s.Dropped++
	default:
		if f.reorder {
			s.Reordered++
		}
		if f.copies > 1 {
			s.Duplicated++
		}
	}
}

func (d *linkDir) snapshot() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Up returns what the link counted from A to B: Packets and Bytes count IP
// packets, headers included, as the sender put them on the wire (Bytes is
// what tcpdump would call their length, without the Ethernet header).
func (l *Link) Up() Stats { return l.up.snapshot() }

// Down returns what the link counted from B to A.
func (l *Link) Down() Stats { return l.down.snapshot() }

// Close stops the forwarder, drops the packets in flight and deletes the
// link's interfaces in both End namespaces before it returns (which takes
// the kernel some tens of milliseconds). It does not close the End
// namespaces. Close is idempotent.
func (l *Link) Close() error {
	l.close(true)
	return nil
}

// close stops the link. With deleteNow false it leaves the interfaces to
// the kernel, which deletes them soon after the link's namespace, in the
// background: enough when the End namespaces go away too.
func (l *Link) close(deleteNow bool) {
	l.once.Do(func() {
		// Closing a packet socket waits for an RCU grace period (about
		// 10ms): close both at once.
		for _, p := range []*packetConn{l.a, l.b} {
			if p != nil {
				l.wg.Go(func() { p.close() })
			}
		}
		l.wg.Wait()
		for _, d := range []*linkDir{l.up, l.down} {
			if d != nil {
				d.q.close()
			}
		}
		if deleteNow {
			// Deleting a veth end deletes its peer with it.
			l.wire.DeleteLink(wireA)
			l.wire.DeleteLink(wireB)
		}
		l.wire.Close()
	})
}
