package netem

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
)

// Path describes one direction of an emulated link.
type Path struct {
	Delay     time.Duration // added to every datagram or chunk
	Jitter    time.Duration // extra uniform random delay in [0, Jitter)
	Loss      float64       // probability that a datagram is dropped
	Duplicate float64       // probability that a datagram is sent twice
	// Reorder is the probability that a datagram is held back by an extra
	// Delay (at least a millisecond), so later ones overtake it.
	Reorder float64
	// Drop, if set, decides drops instead of Loss: it gets the datagram's
	// sequence number in this direction (from 1) and its bytes, so tests
	// can drop exactly the packets they mean to.
	Drop func(seq int, b []byte) bool
	// Seed makes the random choices repeatable when non-zero.
	Seed uint64
}

// Stats counts what a relay did in one direction.
type Stats struct {
	Packets    int // datagrams (or chunks, for TCP) received from the sender
	Bytes      int // their bytes
	Dropped    int
	Duplicated int
	Reordered  int
}

// fate is what a path decides for one datagram.
type fate struct {
	drop    bool
	copies  int
	delay   time.Duration
	reorder bool
}

// chooser applies a Path's randomness; it is used by one goroutine.
type chooser struct {
	p   Path
	rnd *rand.Rand
	seq int
}

func newChooser(p Path) *chooser {
	seed := p.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &chooser{p: p, rnd: rand.New(rand.NewPCG(seed, seed>>1|1))}
}

func (c *chooser) next(b []byte) fate {
	c.seq++
	f := fate{copies: 1, delay: c.p.Delay}
	if c.p.Drop != nil {
		f.drop = c.p.Drop(c.seq, b)
	} else if c.p.Loss > 0 && c.rnd.Float64() < c.p.Loss {
		f.drop = true
	}
	if c.p.Duplicate > 0 && c.rnd.Float64() < c.p.Duplicate {
		f.copies = 2
	}
	if c.p.Jitter > 0 {
		f.delay += time.Duration(c.rnd.Int64N(int64(c.p.Jitter)))
	}
	if c.p.Reorder > 0 && c.rnd.Float64() < c.p.Reorder {
		f.reorder = true
		f.delay += max(c.p.Delay, time.Millisecond)
	}
	return f
}

// spin is how much of a wait is spent spinning rather than sleeping: Go's
// timers may fire a millisecond late, which would skew short delays.
const spin = 1500 * time.Microsecond

// sleepUntil waits until t, precisely, or until stop is closed; it reports
// whether t was reached.
func sleepUntil(t time.Time, stop <-chan struct{}) bool {
	if d := time.Until(t) - spin; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-stop:
			timer.Stop()
			return false
		}
	}
	for time.Now().Before(t) {
		runtime.Gosched()
	}
	return true
}

// queue delivers items at their due times, in due-time order, from one
// goroutine. Items due at the same time keep their arrival order.
type queue[T any] struct {
	mu      sync.Mutex
	items   []queued[T]
	wake    chan struct{}
	stop    chan struct{}
	deliver func(T)
	done    chan struct{}
	limit   int
}

type queued[T any] struct {
	due time.Time
	v   T
}

// maxQueued bounds the datagrams a relay holds in flight per direction;
// beyond it new ones are dropped, as a router's full buffer would.
const maxQueued = 4096

func newQueue[T any](deliver func(T)) *queue[T] {
	q := &queue[T]{wake: make(chan struct{}, 1), stop: make(chan struct{}),
		deliver: deliver, done: make(chan struct{}), limit: maxQueued}
	go q.run()
	return q
}

// push schedules v for due and reports false if the queue is full.
func (q *queue[T]) push(due time.Time, v T) bool {
	q.mu.Lock()
	if len(q.items) >= q.limit {
		q.mu.Unlock()
		return false
	}
	i := len(q.items)
	for i > 0 && q.items[i-1].due.After(due) {
		i--
	}
	q.items = append(q.items, queued[T]{})
	copy(q.items[i+1:], q.items[i:])
	q.items[i] = queued[T]{due, v}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

func (q *queue[T]) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-q.stop:
				return
			}
		}
		head := q.items[0]
		q.mu.Unlock()
		if time.Until(head.due) > spin {
			// Sleep, but wake for an earlier item pushed meanwhile.
			timer := time.NewTimer(time.Until(head.due) - spin)
			select {
			case <-timer.C:
			case <-q.wake:
				timer.Stop()
				continue
			case <-q.stop:
				timer.Stop()
				return
			}
		}
		if !sleepUntil(head.due, q.stop) {
			return
		}
		q.mu.Lock()
		item := q.items[0]
		q.items = q.items[1:]
		q.mu.Unlock()
		q.deliver(item.v)
	}
}

func (q *queue[T]) close() {
	close(q.stop)
	<-q.done
}
