package netem

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// maxDatagram is the largest UDP payload the relay carries.
const maxDatagram = 65535

// maxFlows bounds the client addresses a relay keeps an upstream socket for.
const maxFlows = 1024

// UDPRelay forwards datagrams between clients and one target, applying a
// Path to each direction. Each client address gets its own upstream socket,
// so the target sees one source port per client, as behind a NAT.
type UDPRelay struct {
	conn   *net.UDPConn // where clients send
	target *net.UDPAddr

	mu    sync.Mutex
	flows map[netip.AddrPort]*flow
	up    *direction // client -> target
	down  *direction // target -> client
	wg    sync.WaitGroup
	done  chan struct{}
	once  sync.Once
}

type flow struct {
	client netip.AddrPort
	conn   *net.UDPConn // upstream socket, toward the target
}

type datagram struct {
	b   []byte
	f   *flow
	dst netip.AddrPort
}

// direction is one way through the relay: its randomness, queue and counts.
type direction struct {
	mu    sync.Mutex
	c     *chooser
	q     *queue[datagram]
	stats Stats
}

// NewUDPRelay listens on listen (for example "127.0.0.1:0") and relays to
// target. up applies to datagrams from clients to the target, down to the
// answers.
func NewUDPRelay(listen, target string, up, down Path) (*UDPRelay, error) {
	taddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, err
	}
	laddr, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, err
	}
	r := &UDPRelay{conn: conn, target: taddr,
		flows: make(map[netip.AddrPort]*flow), done: make(chan struct{})}
	r.up = &direction{c: newChooser(up)}
	r.up.q = newQueue(func(d datagram) {
		// Look the flow up now: after a Rebind the datagram leaves from
		// the client's new port.
		r.mu.Lock()
		f := r.flows[d.f.client]
		r.mu.Unlock()
		if f != nil {
			f.conn.Write(d.b) // a write error is a lost datagram
		}
	})
	r.down = &direction{c: newChooser(down)}
	r.down.q = newQueue(func(d datagram) {
		r.conn.WriteToUDPAddrPort(d.b, d.dst)
	})
	r.wg.Go(r.readClients)
	return r, nil
}

// Addr is the address clients send to.
func (r *UDPRelay) Addr() *net.UDPAddr { return r.conn.LocalAddr().(*net.UDPAddr) }

// Up returns what the relay counted from clients to the target.
func (r *UDPRelay) Up() Stats { return r.up.snapshot() }

// Down returns what the relay counted from the target to clients.
func (r *UDPRelay) Down() Stats { return r.down.snapshot() }

func (d *direction) snapshot() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// pass applies the path to one datagram and queues what survives.
func (d *direction) pass(b []byte, f *flow, dst netip.AddrPort) {
	d.mu.Lock()
	fate := d.c.next(b)
	d.stats.count(len(b), fate)
	d.mu.Unlock()
	if fate.drop {
		return
	}
	due := time.Now().Add(fate.delay)
	for range fate.copies {
		if !d.q.push(due, datagram{b: b, f: f, dst: dst}) {
			d.mu.Lock()
			d.stats.Dropped++ // queue full: tail drop
			d.mu.Unlock()
		}
	}
}

func (r *UDPRelay) readClients() {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		f, err := r.flowFor(from)
		if err != nil {
			continue // too many clients: drop
		}
		r.up.pass(append([]byte(nil), buf[:n]...), f, netip.AddrPort{})
	}
}

// flowFor returns the client's upstream socket, opening it on first use.
func (r *UDPRelay) flowFor(client netip.AddrPort) (*flow, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.flows[client]; f != nil {
		return f, nil
	}
	if len(r.flows) >= maxFlows {
		return nil, errors.New("netem: too many flows")
	}
	f, err := r.openLocked(client)
	if err != nil {
		return nil, err
	}
	r.flows[client] = f
	return f, nil
}

func (r *UDPRelay) openLocked(client netip.AddrPort) (*flow, error) {
	select {
	case <-r.done:
		return nil, net.ErrClosed
	default:
	}
	conn, err := net.DialUDP("udp", nil, r.target)
	if err != nil {
		return nil, err
	}
	f := &flow{client: client, conn: conn}
	r.wg.Go(func() { r.readTarget(f) })
	return f, nil
}

func (r *UDPRelay) readTarget(f *flow) {
	buf := make([]byte, maxDatagram)
	for {
		n, err := f.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP port unreachable from the target
		}
		r.down.pass(append([]byte(nil), buf[:n]...), f, f.client)
	}
}

// Rebind gives every client a new upstream socket, so the target sees their
// datagrams arrive from new source ports, as after a NAT rebinding.
// Datagrams still queued toward the target leave from the new port; answers
// the target sends to an old port are lost, as they would be.
func (r *UDPRelay) Rebind() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for client, old := range r.flows {
		f, err := r.openLocked(client)
		if err != nil {
			return err
		}
		r.flows[client] = f
		old.conn.Close()
	}
	return nil
}

// Close stops the relay and waits for its goroutines.
func (r *UDPRelay) Close() error {
	var err error
	r.once.Do(func() {
		r.mu.Lock()
		close(r.done)
		err = r.conn.Close()
		for _, f := range r.flows {
			f.conn.Close()
		}
		r.mu.Unlock()
		r.wg.Wait()
		r.up.q.close()
		r.down.q.close()
	})
	return err
}
