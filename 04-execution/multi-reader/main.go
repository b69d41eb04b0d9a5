// Multiple readers: one acceptor thread accepts and hands each connection,
// round robin, to one of N reader threads, each with its own epoll
// instance, as memcached does. A connection stays on its reader for life.
//
//	go run ./04-execution/multi-reader
//
// One busy connection (accepted first, so it lands on reader 0) pipelines
// a batch of CPU-heavy requests while four light clients send GET /. Look
// at the readers' CPU time (getrusage RUSAGE_THREAD) and which thread ran
// the heavy requests: all of them on reader 0 while the other reader
// idles, and the light clients that happen to share reader 0 wait for the
// whole batch while the others do not. Serve it:
//
//	go run ./04-execution/multi-reader -serve 127.0.0.1:8080 -readers 4
//	wrk -c 64 -d 3s http://127.0.0.1:8080/
package main

import (
	"context"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{Readers: 2, Skew: servers.DefaultSkew()}
	p := demo.New("multi-reader",
		"Multiple readers: one acceptor thread, N reader threads with their own epoll.",
		demo.Modes{
			Scenario: cfg.run,
			Serve:    cfg.serve,
		})
	p.Flags.IntVar(&cfg.Readers, "readers", cfg.Readers, "reader threads")
	cfg.Skew.Flags(p.Flags)
	p.Main()
}

type config struct {
	Readers int
	Skew    servers.SkewConfig
}

// serve keeps the server up for real clients until ctx is done.
func (cfg *config) serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	s, err := servers.StartMultiReader(addr, cfg.Readers, servers.App("multi-reader"))
	if err != nil {
		return err
	}
	return servers.Serve(ctx, s, tl)
}
