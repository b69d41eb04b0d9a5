// Long polling: the client asks for a job's progress and the server holds
// the request until the progress changes (or a server-side timeout passes),
// then the client asks again at once.
//
//	go run ./01-patterns/long-polling
//
// The scenario follows one job two ways at the same time, short polling
// and long polling, and prints requests sent and the delay from a change on
// the server to the client hearing of it. Look for fewer requests and a
// near-zero delay on the long side; then a held request timing out and
// being re-asked, and a client that hangs up freeing its handler at once.
// Serve it for curl (10 s ticks, the course's pace):
//
//	go run ./01-patterns/long-polling -serve 127.0.0.1:8080
//	curl -X POST http://127.0.0.1:8080/submit
//	curl "http://127.0.0.1:8080/checkstatus?jobId=job:1700000000000"
package main

import (
	"context"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// courseTick is the course's pace for this lecture: 10% every ten seconds.
const courseTick = 10 * time.Second

func main() {
	cfg := config{Hold: 30 * time.Second}
	var p *demo.Program
	p = demo.New("long-polling",
		"Long polling: the server holds /checkstatus until the job's progress changes.",
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
				_, _, err := followBothWays(ctx, tl, "http://"+addr, cfg.Poll)
				return err
			},
		})
	p.Flags.DurationVar(&cfg.Tick, "tick", 50*time.Millisecond,
		"how often a job advances 10% (default 10s with -serve, the course's pace)")
	p.Flags.DurationVar(&cfg.Poll, "poll", 20*time.Millisecond,
		"the short-polling client's interval, for comparison")
	p.Flags.DurationVar(&cfg.Hold, "hold", cfg.Hold,
		"how long the server holds a request before answering unchanged")
	p.Main()
}

type config struct {
	Tick time.Duration // job progress interval
	Poll time.Duration // short-polling interval, for the comparison
	Hold time.Duration // server-side timeout of a held request
}
