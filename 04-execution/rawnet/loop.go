package rawnet

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/internal/kernel"

	"golang.org/x/sys/unix"
)

// Handler answers a request on the loop's own thread: while it runs, that
// thread serves nobody else.
type Handler func(req *Request) Response

// AsyncHandler takes a request and answers it later by calling reply
// exactly once, from any goroutine. The loop keeps the answers of one
// connection in request order.
type AsyncHandler func(req *Request, reply func(Response))

// LoopConfig sets up a Loop. Exactly one of Handler and Async is set.
type LoopConfig struct {
	Name    string
	Handler Handler
	Async   AsyncHandler
}

// Limits on a connection's buffered work, beyond which the loop stops
// reading from it until the client has taken its responses.
const (
	maxPending = 64        // requests read but not yet answered
	maxOut     = 256 << 10 // response bytes not yet written
	readSize   = 64 << 10
	batch      = 128 // epoll events per epoll_wait
	acceptMax  = 32  // accepts per readiness of a listener
)

// ErrClosed is returned by the methods of a Loop that has stopped.
var ErrClosed = errors.New("rawnet: loop closed")

// Loop is one OS thread serving HTTP/1.1 on the descriptors registered with
// its epoll instance. See the package documentation.
type Loop struct {
	cfg   LoopConfig
	ep    int // epoll instance
	wake  int // eventfd other threads write to post work
	tid   atomic.Int64
	run1  sync.Once // Start runs the loop; a Close before Start shuts it down
	done  chan struct{}
	stats loopStats

	mu     sync.Mutex
	inbox  []func()
	closed bool

	// Owned by the loop's thread.
	conns   map[int]*conn
	lns     map[int]bool // listening descriptors this loop accepts on
	clock   Clock
	scratch []byte
	stop    bool
}

type loopStats struct {
	accepted, adopted, closed, requests, errors atomic.Int64
	wakeups, listenWakeups, emptyAccepts        atomic.Int64
}

// Stats is what a loop counted.
type Stats struct {
	Accepted int64 // connections accepted by this loop
	Adopted  int64 // connections handed to it by another thread
	Open     int64 // connections open now
	Requests int64 // well-formed requests read
	Errors   int64 // requests refused as malformed
	Wakeups  int64 // returns from epoll_wait
	// ListenWakeups counts wakeups that found a listener readable, and
	// EmptyAccepts those of them whose first accept4 got EAGAIN because
	// another thread took the connection first: a thundering herd.
	ListenWakeups, EmptyAccepts int64
}

// NewLoop creates the epoll instance and eventfd of a loop. Start runs it.
func NewLoop(cfg LoopConfig) (*Loop, error) {
	if (cfg.Handler == nil) == (cfg.Async == nil) {
		return nil, errors.New("rawnet: LoopConfig needs Handler or Async")
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(ep)
		unix.Close(wake)
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	return &Loop{cfg: cfg, ep: ep, wake: wake, done: make(chan struct{}),
		conns: make(map[int]*conn), lns: make(map[int]bool),
		scratch: make([]byte, readSize)}, nil
}

// Start runs the loop on a new goroutine locked to its own OS thread and
// returns once the thread is running.
func (l *Loop) Start() {
	up := make(chan struct{})
	l.run1.Do(func() { go l.run(up) })
	select {
	case <-up:
	case <-l.done: // closed before it started
	}
}

// Name returns the loop's name from its config.
func (l *Loop) Name() string { return l.cfg.Name }

// TID returns the kernel's id of the loop's thread.
func (l *Loop) TID() int { return int(l.tid.Load()) }

// Stats returns what the loop has counted so far.
func (l *Loop) Stats() Stats {
	s := &l.stats
	return Stats{
		Accepted: s.accepted.Load(), Adopted: s.adopted.Load(),
		Open:     s.accepted.Load() + s.adopted.Load() - s.closed.Load(),
		Requests: s.requests.Load(), Errors: s.errors.Load(),
		Wakeups: s.wakeups.Load(), ListenWakeups: s.listenWakeups.Load(),
		EmptyAccepts: s.emptyAccepts.Load(),
	}
}

// post queues f to run on the loop's thread and wakes it.
func (l *Loop) post(f func()) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.inbox = append(l.inbox, f)
	if len(l.inbox) == 1 {
		var one = [8]byte{1}
		unix.Write(l.wake, one[:])
	}
	return nil
}

// Call runs f on the loop's thread and waits for it, for reading
// per-thread state such as getrusage(RUSAGE_THREAD).
func (l *Loop) Call(f func()) error {
	ran := make(chan struct{})
	if err := l.post(func() { f(); close(ran) }); err != nil {
		return err
	}
	select {
	case <-ran:
		return nil
	case <-l.done:
		return ErrClosed
	}
}

// AddListener makes the loop accept on the listening descriptor fd, which
// it does not own. exclusive adds it with EPOLLEXCLUSIVE, so that when
// several loops wait on one listener the kernel wakes one of them (not
// all) per connection.
func (l *Loop) AddListener(fd int, exclusive bool) error {
	var err error
	if cerr := l.Call(func() {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if exclusive {
			ev.Events |= unix.EPOLLEXCLUSIVE
		}
		err = unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &ev)
		if err == nil {
			l.lns[fd] = true
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

// RemoveListener stops the loop accepting on fd. Connections that arrive
// afterwards wait in the listener's accept queue.
func (l *Loop) RemoveListener(fd int) error {
	var err error
	if cerr := l.Call(func() {
		if l.lns[fd] {
			delete(l.lns, fd)
			err = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, fd, nil)
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

// Adopt hands the loop a connected non-blocking descriptor accepted by
// another thread; the loop owns it from now on and closes it. If the loop
// has stopped, Adopt closes fd and returns ErrClosed.
func (l *Loop) Adopt(fd int) error {
	err := l.post(func() {
		l.stats.adopted.Add(1)
		l.register(fd)
	})
	if err != nil {
		unix.Close(fd)
	}
	return err
}

// Close stops the loop, closes every connection it owns, its epoll
// instance and its eventfd, and waits for its thread to finish. It does
// not close listeners. It is safe to call more than once.
func (l *Loop) Close() error {
	// A loop never started is shut down here, on the caller's thread.
	l.run1.Do(l.shutdown)
	err := l.post(func() { l.stop = true })
	if err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	<-l.done
	return nil
}

// Done is closed when the loop has stopped.
func (l *Loop) Done() <-chan struct{} { return l.done }

func (l *Loop) run(up chan<- struct{}) {
	// The loop is one thread: it stays on this one, and the thread is
	// not given to other goroutines while the loop runs.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l.tid.Store(int64(unix.Gettid()))
	close(up)
	defer l.shutdown()
	events := make([]unix.EpollEvent, batch)
	for !l.stop {
		n, err := unix.EpollWait(l.ep, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return // EBADF or EINVAL: the instance is gone
		}
		l.stats.wakeups.Add(1)
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			switch {
			case fd == l.wake:
				l.drainInbox()
			case l.lns[fd]:
				l.accept(fd)
			default:
				if c := l.conns[fd]; c != nil {
					l.serve(c, ev.Events)
				}
			}
		}
	}
}

func (l *Loop) drainInbox() {
	var buf [8]byte
	unix.Read(l.wake, buf[:])
	l.mu.Lock()
	todo := l.inbox
	l.inbox = nil
	l.mu.Unlock()
	for _, f := range todo {
		f()
	}
}

// shutdown runs on the loop's thread as it exits. Work posted after the
// loop was marked closed is refused by post; work already queued runs
// now, so every Call returns and every adopted fd is closed.
func (l *Loop) shutdown() {
	l.mu.Lock()
	l.closed = true
	todo := l.inbox
	l.inbox = nil
	l.mu.Unlock()
	for _, f := range todo {
		f()
	}
	for _, c := range l.conns {
		l.closeConn(c)
	}
	unix.Close(l.ep)
	unix.Close(l.wake)
	close(l.done)
}

// accept takes up to acceptMax connections from a readable listener.
func (l *Loop) accept(lfd int) {
	l.stats.listenWakeups.Add(1)
	for i := 0; i < acceptMax; i++ {
		fd, _, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch {
		case err == nil:
			l.stats.accepted.Add(1)
			l.register(fd)
			continue
		case errors.Is(err, unix.EAGAIN):
			if i == 0 {
				l.stats.emptyAccepts.Add(1)
			}
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
			continue
		case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE):
			// Out of descriptors: the connection waits in the queue.
			// Leave the listener readable and let the open ones
			// progress; a short pause avoids spinning on it.
			time.Sleep(time.Millisecond)
		}
		return
	}
}

// register starts serving a connected descriptor.
func (l *Loop) register(fd int) {
	c := &conn{fd: fd}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		l.stats.closed.Add(1)
		return
	}
	c.events = unix.EPOLLIN
	l.conns[fd] = c
}

func (l *Loop) closeConn(c *conn) {
	if c.closed {
		return
	}
	c.closed = true
	delete(l.conns, c.fd)
	unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	l.stats.closed.Add(1)
}

// Usage returns getrusage(RUSAGE_THREAD) of the loop's thread: the CPU
// time it spent and how often it slept (voluntary switches) or was
// preempted (involuntary ones).
func (l *Loop) Usage() (kernel.Usage, error) {
	var u kernel.Usage
	var err error
	if cerr := l.Call(func() { u, err = kernel.GetUsage(unix.RUSAGE_THREAD) }); cerr != nil {
		return kernel.Usage{}, cerr
	}
	return u, err
}
