// Multiple acceptors: N threads, each with its own epoll instance, wait on
// one listening socket; each accepts and reads its own connections. A new
// connection wakes every one of them (the thundering herd) unless the
// listener was added with EPOLLEXCLUSIVE, which wakes one.
//
//	go run ./04-execution/multi-acceptor
//
// Clients connect one at a time, each once all the threads are asleep in
// epoll_wait (their /proc wchan says do_epoll_wait), and stay connected.
// The kernel counts every time a thread was woken as a voluntary context
// switch (getrusage RUSAGE_THREAD): look for about N per connection with
// plain epoll and about one with EPOLLEXCLUSIVE. User space sees only
// some of the herd as epoll_wait returns whose accept4 finds nothing
// (EAGAIN): epoll re-checks a level-triggered listener before returning
// and puts most losers back to sleep inside the kernel. Serve it for
// curl or wrk:
//
//	go run ./04-execution/multi-acceptor -serve 127.0.0.1:8080 -threads 4
//	wrk -c 64 -d 3s http://127.0.0.1:8080/
package main

import (
	"context"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{Threads: 4, Conns: 40}
	p := demo.New("multi-acceptor",
		"Multiple acceptors: N threads accept on one socket; plain epoll vs EPOLLEXCLUSIVE.",
		demo.Modes{
			Scenario: cfg.run,
			Serve:    cfg.serve,
		})
	p.Flags.IntVar(&cfg.Threads, "threads", cfg.Threads, "acceptor threads")
	p.Flags.IntVar(&cfg.Conns, "conns", cfg.Conns, "connections in the scenario")
	p.Flags.BoolVar(&cfg.Exclusive, "exclusive", true,
		"with -serve: add the listener with EPOLLEXCLUSIVE")
	p.Main()
}

type config struct {
	Threads, Conns int
	Exclusive      bool
}

// serve keeps the server up for real clients until ctx is done.
func (cfg *config) serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	s, err := servers.StartMultiAcceptor(addr, cfg.Threads, cfg.Exclusive,
		servers.App("multi-acceptor"))
	if err != nil {
		return err
	}
	return servers.Serve(ctx, s, tl)
}
