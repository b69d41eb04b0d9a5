// Message load balancing: one thread listens, accepts, reads and parses
// every request, and hands each request (not each connection) to a pool
// of worker threads through one queue, as RAMCloud does; the answers come
// back to the reader thread through an eventfd, and it writes them in
// request order.
//
//	go run ./04-execution/message-lb
//
// The same skewed load as multi-reader: one busy connection pipelines a
// batch of CPU-heavy requests while four light clients send GET /. Look at
// which worker thread ran the heavy requests and each worker's CPU time
// (getrusage RUSAGE_THREAD): the batch is split evenly, so it finishes
// sooner. Look too at the light clients: they share the one queue, so
// while every worker is busy with heavy work, they wait too. Serve it:
//
//	go run ./04-execution/message-lb -serve 127.0.0.1:8080 -workers 4
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
	cfg := config{Workers: 2, Skew: servers.SkewConfig{
		Prime: 20000003, Heavy: 4, Light: 4, Gap: 2 * time.Millisecond}}
	p := demo.New("message-lb",
		"Message load balancing: one reader thread, requests spread over N workers.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cfg)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return serve(ctx, addr, tl, cfg)
			},
		})
	p.Flags.IntVar(&cfg.Workers, "workers", cfg.Workers, "worker threads")
	p.Flags.Uint64Var(&cfg.Skew.Prime, "n", cfg.Skew.Prime,
		"the heavy requests' number: /prime?n=N tries every divisor below N")
	p.Flags.IntVar(&cfg.Skew.Heavy, "heavy", cfg.Skew.Heavy,
		"heavy requests the busy connection pipelines")
	p.Main()
}

type config struct {
	Workers int
	Skew    servers.SkewConfig
}

// serve runs the server until ctx is done, then prints each worker's share.
func serve(ctx context.Context, addr string, tl *timeline.Timeline, cfg config) error {
	s, err := servers.StartMessageLB(addr, cfg.Workers, servers.App("message-lb"))
	if err != nil {
		return err
	}
	defer s.Close()
	tl.Note("server", "reader thread %d and %d workers on %s", s.Reader.TID(),
		cfg.Workers, s.Addr())
	<-ctx.Done()
	for _, w := range s.Workers {
		tl.Note(w.String(), "tid %d: %d requests, %s CPU", w.TID(), w.Jobs.Load(),
			timeline.Ms(w.Usage().CPU()))
	}
	return nil
}
