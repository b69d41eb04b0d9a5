// TCP: the course's TCP server, then what a byte stream means and what the
// kernel knows about a connection.
//
//	go run ./02-protocols/tcp
//
// Look for: three writes arriving as one read, and a newline framing that
// gets the three messages back; one big write arriving as many reads; the
// kernel's own TCP_INFO after a transfer (RTT, its variance, congestion
// window, retransmits, bytes acked, delivery rate); a close that sends FIN
// (the peer reads EOF, the closer sits in TIME_WAIT) against SO_LINGER 0
// and unread data, which send RST (the peer reads "connection reset"); and
// a half-closed connection whose other side keeps sending. Serve the
// course's server for nc:
//
//	go run ./02-protocols/tcp -serve 127.0.0.1:8800
//	nc 127.0.0.1 8800
package main

import (
	"context"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	msg := "Hi server"
	var p *demo.Program
	p = demo.New("tcp", "TCP: a byte stream, TCP_INFO, FIN versus RST, half-close.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				ln, err := demo.Listen(addr)
				if err != nil {
					return err
				}
				return serve(ctx, ln, tl)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				_, err := hello(ctx, addr, msg, tl)
				return err
			},
		})
	p.Flags.StringVar(&msg, "msg", msg, "with -connect: what the client sends")
	p.Main()
}
