// Reverse proxy: the client talks to the proxy as if it were the origin.
// The proxy terminates TLS (certificates from the demo CA), speaks HTTP/2
// to the client and keeps HTTP/1.1 keep-alive pools to three backends,
// tells them who asked (X-Forwarded-For, X-Forwarded-Proto, Forwarded)
// while keeping the client's Host, passes WebSocket upgrades and event
// streams through, answers 502 for a dead backend and 504 for a slow one,
// and caches GET responses that carry Cache-Control: max-age.
//
//	go run ./05-proxying/reverse-proxy
//
// Look for: what the backend received (HTTP/1.1, the proxy's headers, the
// client's Host); 60 requests on one HTTP/2 connection spread over three
// reused backend connections; MISS, HIT, HIT with an Age, then MISS once
// max-age has passed; events arriving as they are sent, not at the end; a
// WebSocket echo through the proxy; 502 and 504. Serve it for curl:
//
//	go run ./05-proxying/reverse-proxy -serve 127.0.0.1:8443
//	curl --cacert /tmp/reverse-proxy-ca.pem https://localhost:8443/headers
//	curl -si --cacert /tmp/reverse-proxy-ca.pem 'https://localhost:8443/cached?max-age=10' | grep -i -e x-cache -e age
//	curl -N --cacert /tmp/reverse-proxy-ca.pem 'https://localhost:8443/events?n=5&every=1s'
//	go run ./05-proxying/reverse-proxy -serve 127.0.0.1:8080 -tls=false
package main

import (
	"context"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{Timeout: 300 * time.Millisecond}
	useTLS := true
	var p *demo.Program
	p = demo.New("reverse-proxy",
		"Reverse proxy: TLS and HTTP/2 in front, keep-alive HTTP/1.1 pools behind, cache, upgrades, 502/504.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cfg)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				if !p.IsSet("timeout-backend") {
					cfg.Timeout = 10 * time.Second
				}
				ln, err := demo.Listen(addr)
				if err != nil {
					return err
				}
				return serve(ctx, ln, tl, cfg, useTLS, nil)
			},
		})
	p.Flags.DurationVar(&cfg.Timeout, "timeout-backend", cfg.Timeout,
		"how long the proxy waits for a backend's response headers before 504 (default 10s with -serve)")
	p.Flags.BoolVar(&useTLS, "tls", useTLS, "with -serve: serve HTTPS with HTTP/2 (-tls=false for plain HTTP/1.1)")
	p.Main()
}
