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

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{Workers: 2, Skew: servers.DefaultSkew()}
	p := demo.New("message-lb",
		"Message load balancing: one reader thread, requests spread over N workers.",
		demo.Modes{
			Scenario: cfg.run,
			Serve:    cfg.serve,
		})
	p.Flags.IntVar(&cfg.Workers, "workers", cfg.Workers, "worker threads")
	cfg.Skew.Flags(p.Flags)
	p.Main()
}

type config struct {
	Workers int
	Skew    servers.SkewConfig
}

// serve keeps the server up for real clients until ctx is done.
func (cfg *config) serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	s, err := servers.StartMessageLB(addr, cfg.Workers, servers.App("message-lb"))
	if err != nil {
		return err
	}
	return servers.Serve(ctx, s, tl)
}
