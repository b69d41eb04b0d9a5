// Short-polling: the client submits a job and then asks "done yet?" on a
// fixed interval; every answer comes back at once, news or not.
//
//	go run ./01-patterns/short-polling
//
// Watch the ratio at the end: requests sent versus requests that carried
// news. Most polls are wasted, and a change waits on average half a poll
// interval before the client hears of it. Serve the course's API for curl
// (3 s ticks, as in the course):
//
//	go run ./01-patterns/short-polling -serve 127.0.0.1:8080
//	curl -X POST http://127.0.0.1:8080/submit
//	curl "http://127.0.0.1:8080/checkstatus?jobId=job:1700000000000"
package main

import (
	"context"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// courseTick is the course's pace: a job advances 10% every three seconds.
const courseTick = 3 * time.Second

func main() {
	var cfg config
	var p *demo.Program
	p = demo.New("short-polling",
		"Short polling: submit a job, then poll its progress on an interval.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cfg)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				if !p.IsSet("tick") {
					cfg.Tick = courseTick
				}
				ln, err := demo.Listen(addr)
				if err != nil {
					return err
				}
				return serve(ctx, ln, tl, cfg)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				_, err := pollJob(ctx, tl, "http://"+addr, cfg.Poll)
				return err
			},
		})
	p.Flags.DurationVar(&cfg.Tick, "tick", 50*time.Millisecond,
		"how often a job advances 10% (default 3s with -serve, the course's pace)")
	p.Flags.DurationVar(&cfg.Poll, "poll", 20*time.Millisecond,
		"how often the client asks for the job's status")
	p.Main()
}

type config struct {
	Tick time.Duration // job progress interval
	Poll time.Duration // client polling interval
}
