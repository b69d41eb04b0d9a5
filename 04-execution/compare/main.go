// Compare: the same small HTTP/1.1 keep-alive request served by net/http
// and by the five raw-socket architectures of lectures 41 to 45, under
// the same bounded load, in one table.
//
//	go run ./04-execution/compare
//	go run ./04-execution/compare -duration 5s -conns 64
//
// Each server in turn gets -conns keep-alive connections sending
// requests back to back for -duration from internal/timing's load
// generator, then the same from wrk if it is installed. Look at
// requests per second and p99: on two cores the threads compete with the
// load generator for the same CPUs. -connect ADDR loads a server started
// elsewhere (any demo's -serve, nginx) the same way.
package main

import (
	"context"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{}
	p := demo.New("compare",
		"Compare: net/http and the raw-socket architectures under one load.",
		demo.Modes{
			Scenario: cfg.run,
			Connect:  cfg.connect,
		})
	p.Flags.IntVar(&cfg.Conns, "conns", 32, "keep-alive connections")
	p.Flags.DurationVar(&cfg.Duration, "duration", 400*time.Millisecond,
		"how long each server is loaded by the load generator")
	p.Flags.DurationVar(&cfg.Wrk, "wrk", time.Second,
		"how long wrk loads each server, if installed (0: skip wrk)")
	p.Flags.IntVar(&cfg.Threads, "threads", 2,
		"readers, workers, acceptors or shards per architecture")
	p.Main()
}

// run is the comparison as the demo harness calls it.
func (cfg *config) run(ctx context.Context, tl *timeline.Timeline) error {
	_, err := compare(ctx, tl, *cfg)
	return err
}

// connect loads a server started elsewhere.
func (cfg *config) connect(ctx context.Context, addr string, tl *timeline.Timeline) error {
	_, err := loadOne(ctx, tl, *cfg, "server at "+addr, addr)
	return err
}
