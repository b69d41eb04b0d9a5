package lb

import (
	"net"
	"sync"
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
