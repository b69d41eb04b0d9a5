// WebSockets written by hand: the ws engine (./ws) on the hand-written
// HTTP/1.1 server (../http1/h1), with every frame printed decoded.
//
//	go run ./02-protocols/websockets
//
// The scenario prints the upgrade request and the 101 response byte for
// byte, then each frame as opcode, FIN, RSV, mask and length: messages of
// each length encoding, a message in three fragments with a ping between
// them, timed pings, and a clean close with its code. Last, a client
// breaks one rule at a time and the server answers 1002, 1007 or 1009.
// Serve it for a browser or any WebSocket client:
//
//	go run ./02-protocols/websockets -serve 127.0.0.1:8080
//	open http://127.0.0.1:8080/                  (an echo page)
//	python3 -m websockets ws://127.0.0.1:8080/echo
package main

import (
	"context"
	"fmt"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	maxMessage := int64(16 << 20)
	p := demo.New("websockets",
		"WebSockets by hand: the upgrade, every frame decoded, fragments, pings, close codes.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				res, err := scenario(ctx, tl)
				if err != nil {
					return err
				}
				return check(res)
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				ln, err := demo.Listen(addr)
				if err != nil {
					return err
				}
				s := newServer(tl)
				s.trace = true
				s.opts.MaxMessageSize = maxMessage
				tl.Note("server", "echo at ws://%s/echo, page at http://%s/", addr, addr)
				return s.serve(ctx, ln)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				_, err := client(ctx, tl, "ws://"+addr+"/echo")
				return err
			},
		})
	p.Flags.Int64Var(&maxMessage, "max-message", maxMessage,
		"with -serve, the largest message the echo takes (1009 beyond)")
	p.Main()
}

// check returns an error unless the scenario showed what it teaches.
func check(res result) error {
	switch {
	case res.Status != 101 || !res.AcceptMatched:
		return fmt.Errorf("handshake: got %d, accept matched %v", res.Status, res.AcceptMatched)
	case res.Echoed != 3:
		return fmt.Errorf("got %d of 3 echoes", res.Echoed)
	case res.Reassembled != "Hello, world":
		return fmt.Errorf("fragments came back as %q", res.Reassembled)
	case res.PingRTT.N != 5:
		return fmt.Errorf("got %d pongs for 5 pings", res.PingRTT.N)
	case res.CloseCode != 1000 || res.ServerSawClose != 1000 || res.ServerSawReason != "bye":
		return fmt.Errorf("close: client got %d, server saw %d %q; want 1000 both ways",
			res.CloseCode, res.ServerSawClose, res.ServerSawReason)
	}
	want := map[string]int{"an unmasked frame": 1002, "a reserved opcode 0x3": 1002,
		"text that is not UTF-8": 1007, "a 100 KiB message (limit 64 KiB)": 1009,
		"a fragmented ping": 1002}
	for name, code := range want {
		if int(res.Violations[name]) != code {
			return fmt.Errorf("after %s: got close %d, want %d", name, res.Violations[name], code)
		}
	}
	return nil
}
