// L7 load balancer: an HTTP proxy that reads every request and decides per
// request: which route (by path and host), which backend (round-robin or
// least-conn, optionally sticky by cookie), what to tell the backend
// (X-Forwarded-*), whether a failure may be retried elsewhere (only what
// is safe to send twice), and which backends are healthy (GET /healthz).
//
//	go run ./05-proxying/l7-lb
//
// Look for: the same 100 keep-alive requests that l4-lb pinned to one
// backend now spread 34/33/33 over three reused backend connections; the
// course's nginx routes (/app1, /app2, /admin refused with 403 before any
// backend sees it); a spoofed X-Forwarded-For dropped; a sick backend
// taken out although its port is open; GETs retried past a backend that
// crashes mid-request while POSTs get 502; sticky cookies; HTTP/2 and TLS
// in front, HTTP/1.1 behind. Serve it for curl:
//
//	go run ./05-proxying/l7-lb -serve 127.0.0.1:8080
//	curl -si http://127.0.0.1:8080/app1 | grep -i x-lb           # route=app1 backend=b1
//	curl -s http://127.0.0.1:8080/ http://127.0.0.1:8080/          # one connection, two backends
//	curl -si http://127.0.0.1:8080/admin                           # 403
//	curl -s -H 'Host: app1.localhost' http://127.0.0.1:8080/
//	go run ./05-proxying/l7-lb -serve 127.0.0.1:8443 -tls         # HTTPS and HTTP/2
//	curl --cacert /tmp/l7-lb-ca.pem https://localhost:8443/headers
package main

import (
	"context"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

type config struct {
	Health time.Duration // health check interval
}

func main() {
	var sc serveConfig
	var p *demo.Program
	p = demo.New("l7-lb",
		"L7 load balancer: per-request balancing, routing, retries, health checks, sticky sessions.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, config{Health: sc.Health})
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
	sc.Register(p, "request", "serve HTTPS with HTTP/2", 20*time.Millisecond)
	p.Flags.BoolVar(&sc.Sticky, "sticky", false, "with -serve: pin clients to a backend with a cookie")
	p.Main()
}
