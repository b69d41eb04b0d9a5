package servers

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/04-execution/rawnet"

	"golang.org/x/sys/unix"
)

// MultiReader is lecture 42's server: one acceptor thread sleeps in
// accept4 on a blocking listener and hands each new connection, round
// robin, to one of N reader threads, each with its own epoll instance, as
// memcached does. A connection stays on its reader for life, so one busy
// connection loads one reader while the others idle.
type MultiReader struct {
	ln      *rawnet.Listener
	Readers []*rawnet.Loop
	// Handed counts the connections handed to each reader.
	Handed   []atomic.Int64
	acceptor chan error
	once     sync.Once
	err      error
}

// StartMultiReader listens on addr and serves h with n reader threads.
func StartMultiReader(addr string, n int, h rawnet.Handler) (*MultiReader, error) {
	if n < 1 {
		return nil, errors.New("servers: need at least one reader")
	}
	ln, err := rawnet.Listen(addr, rawnet.ListenConfig{Blocking: true})
	if err != nil {
		return nil, err
	}
	s := &MultiReader{ln: ln, Handed: make([]atomic.Int64, n),
		acceptor: make(chan error, 1)}
	for i := range n {
		loop, err := rawnet.NewLoop(rawnet.LoopConfig{
			Name: fmt.Sprintf("reader %d", i), Handler: h})
		if err != nil {
			s.closeReaders()
			ln.Close()
			return nil, err
		}
		loop.Start()
		s.Readers = append(s.Readers, loop)
	}
	go s.accept()
	return s, nil
}

// accept is the acceptor thread.
func (s *MultiReader) accept() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for next := 0; ; next = (next + 1) % len(s.Readers) {
		fd, _, err := s.ln.Accept()
		if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
			// The connection waits in the queue; try again soon.
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			s.acceptor <- err // EINVAL after Shutdown
			return
		}
		s.Handed[next].Add(1)
		s.Readers[next].Adopt(fd)
	}
}

// Name returns "multi-reader".
func (s *MultiReader) Name() string { return "multi-reader" }

// Addr returns the address it listens on.
func (s *MultiReader) Addr() string { return s.ln.Addr().String() }

// Close wakes and stops the acceptor, stops the readers (closing their
// connections), then closes the listener.
func (s *MultiReader) Close() error {
	s.once.Do(func() {
		s.ln.Shutdown()
		<-s.acceptor
		s.closeReaders()
		s.err = s.ln.Close()
	})
	return s.err
}

func (s *MultiReader) closeReaders() {
	for _, r := range s.Readers {
		r.Close()
	}
}
