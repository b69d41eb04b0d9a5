// Sync versus async: a synchronous client sends a request and is blocked
// until the slow job behind it is done; an asynchronous one gets
// "202 Accepted" with a job id at once, does other work while the server
// works, and collects the result later.
//
//	go run ./01-patterns/sync-async
//
// Look at the timeline: who waited, and for how long. The sync client sits
// idle for the whole job; the async client is never blocked and finishes
// sooner. Then the course's ordering example in Go: a blocking file read
// prints 1, file, 2; a read handed to a goroutine whose callback runs on
// an event loop prints 1, 2, file. Serve the API for curl:
//
//	go run ./01-patterns/sync-async -serve 127.0.0.1:8080
//	curl -X POST "http://127.0.0.1:8080/work?ms=2000"     (blocks 2 s)
//	curl -i -X POST "http://127.0.0.1:8080/jobs?ms=5000"  (202 at once)
//	curl -i http://127.0.0.1:8080/jobs/1                 (202, then 200)
package main

import (
	"context"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{Job: 300 * time.Millisecond, Task: 100 * time.Millisecond, Tasks: 4}
	p := demo.New("sync-async",
		"Synchronous versus asynchronous requests, and sync versus async I/O ordering.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				if _, err := scenario(ctx, tl, cfg); err != nil {
					return err
				}
				_, err := orderingScenario(tl)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				ln, err := demo.Listen(addr)
				if err != nil {
					return err
				}
				tl.Note("server", "listening on %s", ln.Addr())
				return serve(ctx, ln, tl)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				_, err := compare(ctx, tl, "http://"+addr, cfg)
				return err
			},
		})
	p.Flags.DurationVar(&cfg.Job, "job", cfg.Job, "how long the server's slow job takes")
	p.Flags.DurationVar(&cfg.Task, "task", cfg.Task, "how long each of the client's own tasks takes")
	p.Flags.IntVar(&cfg.Tasks, "tasks", cfg.Tasks, "how many tasks the client has to do besides the job")
	p.Main()
}

type config struct {
	Job   time.Duration // the server's slow job
	Task  time.Duration // each of the client's other tasks
	Tasks int
}
