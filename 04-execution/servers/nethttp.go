package servers

import (
	"context"
	"net/http"

	"backend-protocols/internal/demo"
)

// NetHTTP is Go's own server, for comparison: the runtime's netpoller
// (one epoll for the process) wakes a goroutine per connection, and
// goroutines run on as many threads as there are cores.
type NetHTTP struct {
	run *demo.Running
}

// StartNetHTTP serves h with net/http on addr.
func StartNetHTTP(addr string, h http.Handler) (*NetHTTP, error) {
	run, err := demo.StartHTTP(context.Background(), &http.Server{Handler: h}, addr)
	if err != nil {
		return nil, err
	}
	return &NetHTTP{run: run}, nil
}

// Name returns "net/http".
func (s *NetHTTP) Name() string { return "net/http" }

// Addr returns the address it listens on.
func (s *NetHTTP) Addr() string { return s.run.Addr }

// Close shuts the server down.
func (s *NetHTTP) Close() error { return s.run.Close() }
