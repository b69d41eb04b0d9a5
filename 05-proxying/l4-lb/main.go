// L4 load balancer: a TCP proxy that picks a backend once per connection
// and relays bytes it never parses, with round-robin or least-connections,
// health checks, half-close, splice(2), and SNI routing of TLS without
// terminating it.
//
//	go run ./05-proxying/l4-lb
//
// Look for: 100 requests on one keep-alive connection all answered by one
// backend, while 100 connections spread 34/33/33; least-conn steering
// around two held connections; a FIN crossing the balancer; a stopped
// backend costing a failed dial per connection until health checks take
// it out, and coming back; /proc/self/io counting no user-space copies for
// the balancer with io.Copy and a second copy of every byte with a read
// and write loop; TLS routed on the server name with certificates verified
// end to end. Serve it for curl:
//
//	go run ./05-proxying/l4-lb -serve 127.0.0.1:8080
//	for i in 1 2 3; do curl -s http://127.0.0.1:8080/; done          # b1 b2 b3
//	curl -s http://127.0.0.1:8080/ http://127.0.0.1:8080/             # one connection: b? b?
//	go run ./05-proxying/l4-lb -serve 127.0.0.1:8443 -tls             # TLS passed through
//	curl --cacert /tmp/l4-lb-ca.pem https://localhost:8443/           # balanced
//	curl --cacert /tmp/l4-lb-ca.pem --resolve b2.localhost:8443:127.0.0.1 https://b2.localhost:8443/
package main

import (
	"context"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

type config struct {
	Health time.Duration // health check interval
	Bulk   int64         // bytes for the splice count
}

func main() {
	sc := serveConfig{Copy: "splice"}
	var p *demo.Program
	p = demo.New("l4-lb",
		"L4 load balancer: per-connection balancing, health checks, splice, SNI routing.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, config{Health: sc.Health, Bulk: 64 << 20})
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				ln, err := sc.Listen(p, addr)
				if err != nil {
					return err
				}
				return serve(ctx, ln, tl, sc)
			},
		})
	sc.Register(p, "conn", "backends speak HTTPS, passed through and routed by server name",
		20*time.Millisecond)
	p.Flags.StringVar(&sc.Copy, "copy", sc.Copy,
		"with -serve: splice (io.Copy) or user (a read and write loop), to compare")
	p.Main()
}
