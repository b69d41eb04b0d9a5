// Request-response: a client sends a request, the server parses it,
// processes it and sends a response, which the client parses in turn.
//
//	go run ./01-patterns/request-response
//
// The scenario makes one HTTP/1.1 request and prints the exact bytes of
// the request and the response as they crossed the wire, with the measured
// phases of the exchange (connect, request written, first response byte,
// done); a second request on the same connection skips the connect. Then
// the same pattern over raw TCP with a tiny line protocol, to show that
// request-response is not HTTP-specific. Serve either for real clients:
//
//	go run ./01-patterns/request-response -serve 127.0.0.1:8080
//	curl -v -d '{"a":2,"b":3}' http://127.0.0.1:8080/sum
//	go run ./01-patterns/request-response -proto line -serve 127.0.0.1:9000
//	nc 127.0.0.1 9000        (then type: SUM 2 3)
package main

import (
	"context"
	"fmt"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	proto := "http"
	p := demo.New("request-response",
		"Request-response over HTTP/1.1 and over a raw TCP line protocol.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				if _, err := httpScenario(ctx, tl); err != nil {
					return err
				}
				_, err := lineScenario(ctx, tl)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				ln, err := demo.Listen(addr)
				if err != nil {
					return err
				}
				tl.Note("server", "%s on %s", proto, ln.Addr())
				switch proto {
				case "http":
					return serveHTTP(ctx, ln)
				case "line":
					return serveLines(ctx, ln, tl)
				}
				return fmt.Errorf("unknown -proto %q", proto)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				switch proto {
				case "http":
					_, err := exchangeHTTP(ctx, tl, "http://"+addr)
					return err
				case "line":
					_, err := exchangeLines(ctx, tl, addr, exampleLines)
					return err
				}
				return fmt.Errorf("unknown -proto %q", proto)
			},
		})
	p.Flags.StringVar(&proto, "proto", proto,
		"what -serve and -connect speak: http or line")
	p.Main()
}
