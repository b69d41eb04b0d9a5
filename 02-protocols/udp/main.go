// UDP: the course's UDP server, then what UDP does not do for you.
//
//	go run ./02-protocols/udp
//
// Look for: a "connected" UDP socket to a port where nobody listens that
// dials and writes without error (no handshake: nothing was sent until the
// data), and learns of it only from the ICMP error on the next read; three
// sends arriving as exactly three reads (boundaries kept); 100 datagrams
// through a relay that loses and reorders them, with the losses counted and
// never resent; and a datagram bigger than the read buffer cut short, with
// MSG_TRUNC the only sign. Serve the course's server for nc:
//
//	go run ./02-protocols/udp -serve 127.0.0.1:5555
//	echo hi | nc -u -q1 127.0.0.1 5555
package main

import (
	"context"
	"net"
	"strings"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	msg := "hi"
	var p *demo.Program
	p = demo.New("udp", "UDP: datagrams, boundaries, loss and truncation.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				conn, err := net.ListenPacket("udp", addr)
				if err != nil {
					return err
				}
				return serve(ctx, conn.(*net.UDPConn), tl, nil)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return send(addr, strings.Split(msg, ","), tl)
			},
		})
	p.Flags.StringVar(&msg, "msg", msg,
		"with -connect: the datagrams to send, separated by commas")
	p.Main()
}
