// Push: the course's chat, on the hand-written WebSocket engine. The
// server pushes every message to every client the moment it arrives.
//
//	go run ./01-patterns/push
//
// Three Go clients join (each hears "User<port> just connected."), chat,
// and the scenario measures push latency from a send to its arrival at
// every other client. Then a client stops reading while another floods:
// its bounded send queue fills, it is dropped, and the others keep
// receiving without delay. Last, a client leaves and the others hear of
// it. Chat from browser tabs:
//
//	go run ./01-patterns/push -serve 127.0.0.1:8080
//	open http://127.0.0.1:8080/ in two tabs
//	python3 -m websockets ws://127.0.0.1:8080/ws
package main

import (
	"context"
	"fmt"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{Rounds: 20, Queue: 32, SndBuf: 32 << 10, Flood: 500}
	p := demo.New("push", "Push: a WebSocket chat that pushes every message to every client.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				res, err := scenario(ctx, tl, cfg)
				if err != nil {
					return err
				}
				return check(res, cfg)
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				ln, err := demo.Listen(addr)
				if err != nil {
					return err
				}
				h := newHub(cfg.Queue, cfg.SndBuf, func(kind, text string) { tl.Note("server", "%s", text) })
				tl.Note("server", "chat page at http://%s/, WebSocket at ws://%s/ws", addr, addr)
				return serve(ctx, ln, h)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				_, err := chat(ctx, tl, "ws://"+addr+"/ws", cfg, nil)
				return err
			},
		})
	p.Flags.IntVar(&cfg.Queue, "queue", cfg.Queue, "messages a client's send queue holds")
	p.Flags.IntVar(&cfg.SndBuf, "sndbuf", cfg.SndBuf,
		"the server's socket send buffer per client, bytes (0: the kernel's default)")
	p.Flags.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "chat messages per client in the latency run")
	p.Flags.IntVar(&cfg.Flood, "flood", cfg.Flood, "messages in the flood")
	p.Main()
}

// check returns an error unless the scenario showed what it teaches.
func check(res result, cfg config) error {
	for name, n := range res.Joins {
		if n < 1 {
			return fmt.Errorf("%s heard %d join notices", name, n)
		}
	}
	switch {
	case res.Latency.N != 3*cfg.Rounds*2:
		return fmt.Errorf("got %d deliveries, want %d", res.Latency.N, 3*cfg.Rounds*2)
	case !res.Dropped:
		return fmt.Errorf("the stalled client was never dropped")
	case res.LeftSeen != 2:
		return fmt.Errorf("%d clients saw the leave notice, want 2", res.LeftSeen)
	}
	for name, n := range res.Delivered {
		if n != cfg.Flood {
			return fmt.Errorf("%s got %d of %d flood messages", name, n, cfg.Flood)
		}
	}
	return nil
}
