package netem

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// TCPRelay accepts TCP connections and relays each to a target, delaying
// the bytes of each direction by its Path's Delay (and Jitter; chunk order
// is always kept, as TCP would). Loss, duplication and reordering do not
// apply to a byte stream and are ignored.
type TCPRelay struct {
	ln       net.Listener
	target   string
	up, down Path

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	stats [2]Stats
	wg    sync.WaitGroup
}

// NewTCPRelay listens on listen and relays every connection to target.
func NewTCPRelay(listen, target string, up, down Path) (*TCPRelay, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	r := &TCPRelay{ln: ln, target: target, up: up, down: down,
		conns: make(map[net.Conn]struct{})}
	r.wg.Go(r.accept)
	return r, nil
}

// Addr is the address clients connect to.
func (r *TCPRelay) Addr() net.Addr { return r.ln.Addr() }

// Up returns what was relayed from clients to the target (chunks, bytes).
func (r *TCPRelay) Up() Stats { return r.snapshot(0) }

// Down returns what was relayed from the target to clients.
func (r *TCPRelay) Down() Stats { return r.snapshot(1) }

func (r *TCPRelay) snapshot(i int) Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats[i]
}

func (r *TCPRelay) track(c net.Conn, add bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !add {
		delete(r.conns, c)
		return true
	}
	if r.conns == nil {
		return false // closed
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *TCPRelay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		r.wg.Go(func() { r.relay(c) })
	}
}

func (r *TCPRelay) relay(client net.Conn) {
	defer client.Close()
	if !r.track(client, true) {
		return
	}
	defer r.track(client, false)
	server, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	defer server.Close()
	if !r.track(server, true) {
		return
	}
	defer r.track(server, false)
	var wg sync.WaitGroup
	wg.Go(func() { r.pipe(server, client, r.up, 0) })
	r.pipe(client, server, r.down, 1)
	wg.Wait()
}

type chunk struct {
	b   []byte
	eof bool
}

// pipe copies src to dst, holding each chunk for the path's delay, and
// half-closes dst when src ends.
func (r *TCPRelay) pipe(dst, src net.Conn, p Path, stat int) {
	c := newChooser(p)
	done := make(chan struct{})
	q := newQueue(func(ch chunk) {
		if ch.eof {
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			close(done)
			return
		}
		if _, err := dst.Write(ch.b); err != nil {
			src.Close() // the far side is gone: stop reading
		}
	})
	defer q.close()
	buf := make([]byte, 32<<10)
	last := time.Now()
	for {
		n, err := src.Read(buf)
		if n > 0 {
			due := time.Now().Add(c.next(buf[:n]).delay)
			if due.Before(last) {
				due = last // a byte stream never reorders
			}
			last = due
			r.mu.Lock()
			r.stats[stat].Packets++
			r.stats[stat].Bytes += n
			r.mu.Unlock()
			for !q.push(due, chunk{b: append([]byte(nil), buf[:n]...)}) {
				time.Sleep(time.Millisecond) // queue full: back-pressure
			}
		}
		if err != nil {
			if err == io.EOF {
				for !q.push(last, chunk{eof: true}) {
					time.Sleep(time.Millisecond)
				}
				<-done
				return
			}
			// A reset or a closed relay: tear down both sides.
			src.Close()
			dst.Close()
			return
		}
	}
}

// Close stops accepting, closes every relayed connection and waits for the
// relay's goroutines.
func (r *TCPRelay) Close() error {
	err := r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
	r.wg.Wait()
	return err
}
