// Multiplexing versus demultiplexing: HTTP/1.1 carries one request at a
// time per connection, so a browser opens six connections to a host and
// queues the rest; HTTP/2 carries every request as a stream of one
// connection; a proxy can turn one into the other.
//
//	go run ./01-patterns/multiplexing
//
// The scenario loads a page with 30 assets three ways and prints what the
// server counted: 6 connections with 5 requests each and at most 6 at
// once (the other 24 queued in the client, wait measured); 30
// connections with no limit; one connection carrying 30 streams on
// HTTP/2. Then a proxy: HTTP/2 clients on two connections fanned out over
// a pool of HTTP/1.1 backend connections, and HTTP/1.1 clients on a
// connection each multiplexed onto one HTTP/2 backend connection, for 1,
// 10 and 100 concurrent requests, with connection counts on both sides
// and total times. Last, a fast request stuck behind slow ones on
// HTTP/1.1 (pipelined, or waiting for a busy connection) and not on
// HTTP/2. Serve it for curl:
//
//	go run ./01-patterns/multiplexing -serve 127.0.0.1:8080
//	curl -s -Z --http1.1 --parallel-max 6 -o '/dev/null' 'http://127.0.0.1:8080/asset?i=[1-30]'
//	curl -s http://127.0.0.1:8080/stats      # 6 connections; POST resets
//	curl -s -Z --http2-prior-knowledge -o '/dev/null' 'http://127.0.0.1:8080/asset?i=[1-30]'
//
// -connect ADDR loads the page the three ways against any server that
// answers GET / and GET /asset, counting connections on the client side.
package main

import (
	"context"
	"fmt"
	"net/http"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := defaults
	p := demo.New("multiplexing",
		"Multiplexing versus demultiplexing: HTTP/1.1 with six connections, HTTP/2 streams, "+
			"and a proxy between them.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cfg)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				ln, err := demo.Listen(addr)
				if err != nil {
					return err
				}
				tl.Note("server", "http://%s: GET /asset?ms=N (default %v), "+
					"/stats (POST resets); HTTP/1.1 and h2c", ln.Addr(), cfg.Work)
				return serve(ctx, ln, cfg.Work)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				_, err := connect(ctx, tl, "http://"+addr, cfg)
				return err
			},
		})
	p.Flags.IntVar(&cfg.Assets, "assets", cfg.Assets, "assets on the page")
	p.Flags.IntVar(&cfg.Limit, "limit", cfg.Limit, "HTTP/1.1 connections per host")
	p.Flags.DurationVar(&cfg.Work, "work", cfg.Work, "server time per asset")
	p.Flags.IntVar(&cfg.Pool, "pool", cfg.Pool,
		"the proxy's HTTP/1.1 connections to its backend")
	p.Flags.DurationVar(&cfg.Slow, "slow", cfg.Slow,
		"the slow request's time in the head-of-line part")
	p.Main()
}

// connect loads the page three ways against a server started elsewhere
// and prints the connections the client used.
func connect(ctx context.Context, tl *timeline.Timeline, base string, cfg config) ([]fetched, error) {
	var out []fetched
	for _, how := range []struct {
		name  string
		h2    bool
		limit int
	}{
		{"HTTP/1.1, limited", false, cfg.Limit},
		{"HTTP/1.1, no limit", false, 0},
		{"HTTP/2 (h2c)", true, 0},
	} {
		tp := newTransport(how.h2, how.limit)
		c := &http.Client{Transport: tp}
		_, err := get(ctx, c, base+"/")
		var f fetched
		if err == nil {
			f, err = fetchAll(ctx, c, base+"/asset", cfg.Assets)
		}
		tp.CloseIdleConnections()
		if err != nil {
			return out, fmt.Errorf("%s: %w", how.name, err)
		}
		tl.Note("client", "%-20s %d requests over %d connections (%s) in %s, "+
			"max wait for a connection %s", how.name, f.Requests, f.Conns, f.Proto,
			timeline.Ms(f.Total), timeline.Ms(f.MaxWait))
		out = append(out, f)
	}
	return out, nil
}
