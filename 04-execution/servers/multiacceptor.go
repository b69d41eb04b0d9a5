package servers

import (
	"errors"
	"fmt"
	"sync"

	"backend-protocols/04-execution/rawnet"
)

// MultiAcceptor is lecture 44's server: N threads, each with its own epoll
// instance, all watch one listening socket and each accepts and reads its
// own connections. Without EPOLLEXCLUSIVE every thread wakes for every
// connection and all but one find nothing to accept: the thundering herd.
// With it the kernel wakes one.
type MultiAcceptor struct {
	ln        *rawnet.Listener
	Threads   []*rawnet.Loop
	Exclusive bool
	once      sync.Once
	err       error
}

// StartMultiAcceptor listens on addr and serves h with n threads that all
// accept on the listener, adding it to their epoll with EPOLLEXCLUSIVE if
// exclusive is set.
func StartMultiAcceptor(addr string, n int, exclusive bool, h rawnet.Handler) (*MultiAcceptor, error) {
	if n < 1 {
		return nil, errors.New("servers: need at least one thread")
	}
	ln, err := rawnet.Listen(addr, rawnet.ListenConfig{})
	if err != nil {
		return nil, err
	}
	s := &MultiAcceptor{ln: ln, Exclusive: exclusive}
	for i := range n {
		loop, err := rawnet.NewLoop(rawnet.LoopConfig{
			Name: fmt.Sprintf("thread %d", i), Handler: h})
		if err == nil {
			s.Threads = append(s.Threads, loop)
			loop.Start()
			err = loop.AddListener(ln.FD(), exclusive)
		}
		if err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Name returns "multi-acceptor" or "multi-acceptor (exclusive)".
func (s *MultiAcceptor) Name() string {
	if s.Exclusive {
		return "multi-acceptor (exclusive)"
	}
	return "multi-acceptor"
}

// Addr returns the address it listens on.
func (s *MultiAcceptor) Addr() string { return s.ln.Addr().String() }

// Close stops every thread, then closes the listener.
func (s *MultiAcceptor) Close() error {
	s.once.Do(func() {
		for _, t := range s.Threads {
			t.Close()
		}
		s.err = s.ln.Close()
	})
	return s.err
}
