// Protocol design: a small binary request-response protocol for a
// key-value store (package kv), beside a text twin that sends the same
// messages as JSON lines, measured on the same messages.
//
//	go run ./02-protocols/protocol-design
//
// Look for: the bytes each encoding puts on the wire and the time to encode
// and decode them; a frame arriving in three reads and the decoder waiting
// for exactly the bytes its length prefix promised; three pipelined
// requests answered out of order and matched by request id; and a version
// bump: a v2 request refused by a v1 server, which still finds the end of
// the frame and keeps the connection, and the client falling back. Serve it
// for nc (binary and JSON lines on one port; keys starting "cold:" take
// -cold to answer):
//
//	go run ./02-protocols/protocol-design -serve 127.0.0.1:7000
//	printf '{"v":1,"type":"set","id":1,"key":"a","value":"hi"}\n' | nc -q1 127.0.0.1 7000
package main

import (
	"context"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cold := 20 * time.Millisecond
	var p *demo.Program
	p = demo.New("protocol-design",
		"Protocol design: a binary key-value protocol and its JSON-lines twin, measured.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cold)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return serve(ctx, addr, tl, cold)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				var res result
				return clientSteps(ctx, tl, addr, "", &res)
			},
		})
	p.Flags.DurationVar(&cold, "cold", cold,
		`how long the server takes to answer keys starting "cold:"`)
	p.Main()
}
