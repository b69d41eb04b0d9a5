package servers

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/kernel"

	"golang.org/x/sys/unix"
)

// MessageLB is lecture 43's server: one thread listens, accepts, reads and
// parses every request, and dispatches each request (not each connection)
// to a pool of worker threads through one queue, as RAMCloud does. The
// answers come back to the reader thread, which writes them in order.
// Work from one busy connection spreads over all the workers.
type MessageLB struct {
	ln      *rawnet.Listener
	Reader  *rawnet.Loop
	Workers []*Worker
	jobs    chan job
	wg      sync.WaitGroup
	once    sync.Once
	err     error
}

// Worker is one of MessageLB's worker threads.
type Worker struct {
	ID   int
	Jobs atomic.Int64 // requests it has run
	tid  atomic.Int64
	// usage asks the worker for getrusage(RUSAGE_THREAD) of its thread.
	usage chan chan kernel.Usage
	gone  chan struct{} // closed when the worker has stopped
}

type job struct {
	req   *rawnet.Request
	reply func(rawnet.Response)
}

// queueLen bounds the requests parsed and not yet taken by a worker; when
// it is full the reader thread waits, and stops reading, until one is.
const queueLen = 1024

// StartMessageLB listens on addr, reads on one thread and runs h on n
// worker threads.
func StartMessageLB(addr string, n int, h rawnet.Handler) (*MessageLB, error) {
	if n < 1 {
		return nil, errors.New("servers: need at least one worker")
	}
	ln, err := rawnet.Listen(addr, rawnet.ListenConfig{})
	if err != nil {
		return nil, err
	}
	s := &MessageLB{ln: ln, jobs: make(chan job, queueLen)}
	for i := range n {
		w := &Worker{ID: i, usage: make(chan chan kernel.Usage),
			gone: make(chan struct{})}
		s.Workers = append(s.Workers, w)
		s.wg.Go(func() { w.run(s.jobs, h) })
	}
	dispatch := func(req *rawnet.Request, reply func(rawnet.Response)) {
		s.jobs <- job{req, reply}
	}
	s.Reader, err = rawnet.NewLoop(rawnet.LoopConfig{Name: "reader", Async: dispatch})
	if err == nil {
		s.Reader.Start()
		err = s.Reader.AddListener(ln.FD(), false)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// run is a worker thread: take a request, run the handler, post the
// answer back to the reader thread.
func (w *Worker) run(jobs <-chan job, h rawnet.Handler) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(w.gone)
	w.tid.Store(int64(unix.Gettid()))
	for {
		select {
		case j, ok := <-jobs:
			if !ok {
				return
			}
			resp := h(j.req)
			w.Jobs.Add(1)
			j.reply(resp)
		case c := <-w.usage:
			u, _ := kernel.GetUsage(unix.RUSAGE_THREAD)
			c <- u
		}
	}
}

// Usage returns getrusage(RUSAGE_THREAD) of the worker's thread. It waits
// for the worker to finish the request it is running, and returns zero
// once the worker has stopped.
func (w *Worker) Usage() kernel.Usage {
	c := make(chan kernel.Usage, 1)
	select {
	case w.usage <- c:
		return <-c
	case <-w.gone:
		return kernel.Usage{}
	}
}

// Name returns "message-lb".
func (s *MessageLB) Name() string { return "message-lb" }

// Addr returns the address it listens on.
func (s *MessageLB) Addr() string { return s.ln.Addr().String() }

// Close stops the reader (closing every connection; answers still being
// computed are dropped), then the workers, then closes the listener.
func (s *MessageLB) Close() error {
	s.once.Do(func() {
		if s.Reader != nil {
			s.Reader.Close()
		}
		close(s.jobs)
		s.wg.Wait()
		s.err = s.ln.Close()
	})
	return s.err
}

// TID returns the kernel's id of the worker's thread (0 until it runs).
func (w *Worker) TID() int { return int(w.tid.Load()) }

func (w *Worker) String() string { return fmt.Sprintf("worker %d", w.ID) }
