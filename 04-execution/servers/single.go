package servers

import (
	"backend-protocols/04-execution/rawnet"
)

// SingleThread is lecture 41's server: one thread listens, accepts and
// reads every connection through one epoll instance, and runs every
// request itself, as Node.js and Redis do. A slow request stalls everyone.
type SingleThread struct {
	ln   *rawnet.Listener
	Loop *rawnet.Loop
}

// StartSingleThread listens on addr and serves h on one thread.
func StartSingleThread(addr string, h rawnet.Handler) (*SingleThread, error) {
	ln, err := rawnet.Listen(addr, rawnet.ListenConfig{})
	if err != nil {
		return nil, err
	}
	loop, err := rawnet.NewLoop(rawnet.LoopConfig{Name: "thread", Handler: h})
	if err != nil {
		ln.Close()
		return nil, err
	}
	loop.Start()
	if err := loop.AddListener(ln.FD(), false); err != nil {
		loop.Close()
		ln.Close()
		return nil, err
	}
	return &SingleThread{ln: ln, Loop: loop}, nil
}

// Name returns "single-thread".
func (s *SingleThread) Name() string { return "single-thread" }

// Addr returns the address it listens on.
func (s *SingleThread) Addr() string { return s.ln.Addr().String() }

// Close stops the thread, closing every connection, then the listener.
func (s *SingleThread) Close() error {
	s.Loop.Close()
	return s.ln.Close()
}
