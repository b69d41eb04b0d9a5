// HTTP/1.1 written by hand: the h1 engine (./h1) serving and fetching,
// with the bytes on the wire printed.
//
//	go run ./02-protocols/http1
//
// The scenario prints one request and response byte for byte, then
// compares keep-alive with a connection per request (look at the
// connections accepted and the time per request), pipelines three
// requests behind a slow one (the quick answers wait: head-of-line
// blocking), reads a chunked stream piece by piece, sends a request
// smuggling attempt that is refused with 400 and a closed connection, and
// cuts off a slow-loris client while fast clients carry on. Serve it for
// curl:
//
//	go run ./02-protocols/http1 -serve 127.0.0.1:8080
//	curl -v http://127.0.0.1:8080/anything
//	curl -d 'echo me' http://127.0.0.1:8080/
//	curl -N http://127.0.0.1:8080/stream
package main

import (
	"context"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{Pieces: 5, Interval: 30 * time.Millisecond,
		Slow: 100 * time.Millisecond, Requests: 10}
	var p *demo.Program
	p = demo.New("http1",
		"HTTP/1.1 by hand: raw bytes, keep-alive, pipelining, chunked streams, smuggling refused.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				res, err := scenario(ctx, tl, cfg)
				if err != nil {
					return err
				}
				return check(res, cfg)
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				if !p.IsSet("interval") {
					cfg.Interval = 500 * time.Millisecond // slow enough to watch
				}
				ln, err := demo.Listen(addr)
				if err != nil {
					return err
				}
				return newServer(cfg, tl).serve(ctx, ln)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				_, err := clientSide(ctx, tl, addr, cfg, nil)
				return err
			},
		})
	p.Flags.IntVar(&cfg.Pieces, "pieces", cfg.Pieces, "pieces in /stream")
	p.Flags.DurationVar(&cfg.Interval, "interval", cfg.Interval,
		"time between /stream pieces (default 500ms with -serve)")
	p.Flags.DurationVar(&cfg.Slow, "slow", cfg.Slow, "how long /slow takes")
	p.Flags.IntVar(&cfg.Requests, "requests", cfg.Requests,
		"requests in the keep-alive comparison")
	p.Main()
}
