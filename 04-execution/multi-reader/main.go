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
	"time"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{Readers: 2, Skew: servers.SkewConfig{
		Prime: 20000003, Heavy: 4, Light: 4, Gap: 2 * time.Millisecond}}
	p := demo.New("multi-reader",
		"Multiple readers: one acceptor thread, N reader threads with their own epoll.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cfg)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return serve(ctx, addr, tl, cfg)
			},
		})
	p.Flags.IntVar(&cfg.Readers, "readers", cfg.Readers, "reader threads")
	p.Flags.Uint64Var(&cfg.Skew.Prime, "n", cfg.Skew.Prime,
		"the heavy requests' number: /prime?n=N tries every divisor below N")
	p.Flags.IntVar(&cfg.Skew.Heavy, "heavy", cfg.Skew.Heavy,
		"heavy requests the busy connection pipelines")
	p.Main()
}

type config struct {
	Readers int
	Skew    servers.SkewConfig
}

// serve runs the server until ctx is done, then prints each reader's share.
func serve(ctx context.Context, addr string, tl *timeline.Timeline, cfg config) error {
	s, err := servers.StartMultiReader(addr, cfg.Readers, servers.App("multi-reader"))
	if err != nil {
		return err
	}
	defer s.Close()
	tl.Note("server", "acceptor and %d readers on %s", cfg.Readers, s.Addr())
	<-ctx.Done()
	for i, r := range s.Readers {
		u, _ := r.Usage()
		tl.Note(r.Name(), "tid %d: %d connections, %d requests, %s CPU",
			r.TID(), s.Handed[i].Load(), r.Stats().Requests, timeline.Ms(u.CPU()))
	}
	return nil
}
