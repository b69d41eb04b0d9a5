// HTTP/3 written by hand: the quic engine (./quic) carrying the h3 engine
// (./h3), with every packet of a connection on the wire and the lecture's
// point measured: head-of-line blocking.
//
//	go run ./02-protocols/http3
//
// The scenario prints each packet the client and server send (type,
// number, size and frames) for a GET and a POST through a relay with a
// round trip of 20 ms, then the ladder of flights: the handshake takes
// one round trip and the request rides in the client's second flight.
// The relay then rebinds the client's port as a NAT would; the server
// validates the new path (PATH_CHALLENGE, PATH_RESPONSE) and the
// connection lives on. Last, ten resources are fetched at once over
// HTTP/2 and over HTTP/3 while one packet from the server is lost: look
// at how many resources the loss held up. Serve real clients:
//
//	go run ./02-protocols/http3 -serve 127.0.0.1:4433
//
// and see README.md for curl, Chromium, ngtcp2 and Wireshark.
package main

import (
	"context"
	"os"
	"slices"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
)

func main() {
	if !slices.ContainsFunc(os.Args[1:], func(a string) bool {
		return a == "-serve" || a == "--serve" || a == "-connect" || a == "--connect"
	}) {
		// The head-of-line comparison wants network namespaces; a user
		// without root gets them this way where the kernel allows.
		netns.Reexec()
	}
	cfg := config{Delay: 10 * time.Millisecond,
		HOL: holConfig{Resources: 10, Size: 1 << 10, Delay: 20 * time.Millisecond,
			DropAt: 2}}
	var caFile string
	p := demo.New("http3",
		"HTTP/3 by hand: packets on the wire, a NAT rebinding, head-of-line blocking against HTTP/2.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cfg)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return serve(ctx, addr, tl)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return connect(ctx, addr, caFile, tl)
			},
		})
	p.Flags.DurationVar(&cfg.Delay, "delay", cfg.Delay,
		"one-way delay of the relay in the packet part")
	p.Flags.DurationVar(&cfg.HOL.Delay, "hol-delay", cfg.HOL.Delay,
		"one-way delay of the path in the head-of-line comparison")
	p.Flags.IntVar(&cfg.HOL.DropAt, "drop", cfg.HOL.DropAt,
		"which full-size data packet from the server is lost")
	p.Flags.IntVar(&cfg.HOL.Size, "size", cfg.HOL.Size, "bytes per resource")
	p.Flags.StringVar(&caFile, "cacert", "",
		"with -connect, PEM file of the CA that signed the server's certificate")
	p.Main()
}
