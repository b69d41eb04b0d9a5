package lb

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// Conns is the set of connections a server has open, so that shutting it
// down can close them all. Connections a server hands off (hijacked from
// net/http, tunnels) are invisible to http.Server.Shutdown; tracking them
// here is what keeps them from outliving the server.
type Conns struct {
	mu     sync.Mutex
	m      map[net.Conn]struct{}
	closed bool
}

// Add tracks c. It returns false, and does not track c, after CloseAll:
// the caller must close c itself.
func (s *Conns) Add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.m == nil {
		s.m = make(map[net.Conn]struct{})
	}
	s.m[c] = struct{}{}
	return true
}

// Remove stops tracking c.
func (s *Conns) Remove(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, c)
}

// Len reports how many connections are tracked.
func (s *Conns) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// CloseAll closes every tracked connection and refuses new ones.
func (s *Conns) CloseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.m {
		c.Close()
	}
	clear(s.m)
}

// ServeTCP accepts connections on ln and runs handle for each in its own
// goroutine, until ctx is done or ln fails. Then it closes ln and every
// accepted connection, cancels the context handed to the handlers, waits
// for them all to return, and returns nil if ctx ended it. A handler must
// close whatever else it opened when its context ends (Relay does).
func ServeTCP(ctx context.Context, ln net.Listener,
	handle func(ctx context.Context, c net.Conn)) error {
	ctx, cancel := context.WithCancel(ctx)
	var (
		conns Conns
		wg    sync.WaitGroup
	)
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer func() {
		stop()
		ln.Close()
		cancel()
		conns.CloseAll()
		wg.Wait()
	}()
	var pause time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) {
				// Out of descriptors and the like: wait, do not spin.
				pause = min(max(2*pause, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(pause):
					continue
				case <-ctx.Done():
					return nil
				}
			}
			return err
		}
		pause = 0
		if !conns.Add(c) {
			c.Close()
			continue
		}
		wg.Go(func() {
			defer conns.Remove(c)
			defer c.Close()
			handle(ctx, c)
		})
	}
}
