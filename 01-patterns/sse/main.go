// Server-sent events: the server pushes a stream of events over one
// long-lived HTTP response (text/event-stream); the client reads them as
// they come, and after a dropped connection resumes where it left off by
// sending Last-Event-ID.
//
//	go run ./01-patterns/sse
//
// Each client has its own counter (the course's Node version shares one
// global counter and leaks its timer when a client leaves; this one does
// neither). Look for: a client that loses its connection and, on
// reconnecting, gets the missed events replayed at once from the server's
// buffer with no gap in the ids; EventSource's retry: honoured when the
// server hangs up; the same stream over HTTP/2, where each event is a DATA
// frame on one stream; and every session's timer stopping once its client
// is gone for good. Serve it to curl and a browser:
//
//	go run ./01-patterns/sse -serve 127.0.0.1:8888
//	curl -N http://127.0.0.1:8888/stream
//	curl -N -H 'Last-Event-ID: <id from above>' http://127.0.0.1:8888/stream
//	open http://127.0.0.1:8888/ in a browser
//
// -connect reads events from any event-stream server (ADDR, or a full
// URL) the way a browser's EventSource does, reconnecting with
// Last-Event-ID when the stream ends. With -tls it serves HTTPS (HTTP/2 and HTTP/1.1) with a certificate from
// an in-memory CA and prints where it wrote the CA certificate for curl
// --cacert.
package main

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// fast is the scenario's pace; course is the course's (one event a second)
// and what -serve uses unless a flag says otherwise.
var (
	fast = config{Tick: 25 * time.Millisecond, KeepAlive: 100 * time.Millisecond,
		Retry: 50 * time.Millisecond, Buffer: 8, Grace: time.Second,
		MaxSessions: 20000, WriteLimit: 10 * time.Second}
	course = config{Tick: time.Second, KeepAlive: 15 * time.Second,
		Retry: time.Second, Buffer: 64, Grace: 30 * time.Second,
		MaxSessions: 20000, WriteLimit: 10 * time.Second}
)

func main() {
	cfg := fast
	useTLS := false
	events := 10
	var p *demo.Program
	p = demo.New("sse",
		"Server-sent events with per-client counters, Last-Event-ID resume, HTTP/1.1 and HTTP/2.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cfg)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				for name, pair := range map[string][2]*time.Duration{
					"tick": {&cfg.Tick, &course.Tick}, "keepalive": {&cfg.KeepAlive, &course.KeepAlive},
					"retry": {&cfg.Retry, &course.Retry}, "grace": {&cfg.Grace, &course.Grace},
				} {
					if !p.IsSet(name) {
						*pair[0] = *pair[1]
					}
				}
				if !p.IsSet("buffer") {
					cfg.Buffer = course.Buffer
				}
				ln, err := demo.Listen(addr)
				if err != nil {
					return err
				}
				var ca *certs.CA
				scheme := "http"
				if useTLS {
					if ca, err = certs.NewCA(); err != nil {
						return err
					}
					path := filepath.Join(os.TempDir(), "sse-demo-ca.pem")
					if err := os.WriteFile(path, ca.PEM(), 0o644); err != nil {
						return err
					}
					scheme = "https"
					tl.Note("server", "CA certificate written to %s (curl --cacert %s)", path, path)
				}
				tl.Note("server", "listening on %s://%s (one event every %v per client)",
					scheme, ln.Addr(), cfg.Tick)
				return serve(ctx, ln, tl, cfg, ca)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return connect(ctx, tl, addr, events)
			},
		})
	p.Flags.DurationVar(&cfg.Tick, "tick", cfg.Tick, "time between events (default 1s with -serve)")
	p.Flags.DurationVar(&cfg.KeepAlive, "keepalive", cfg.KeepAlive,
		"keep-alive comment interval (default 15s with -serve)")
	p.Flags.DurationVar(&cfg.Retry, "retry", cfg.Retry,
		"reconnection time sent to clients (default 1s with -serve)")
	p.Flags.DurationVar(&cfg.Grace, "grace", cfg.Grace,
		"how long a session outlives its connection (default 30s with -serve)")
	p.Flags.IntVar(&cfg.Buffer, "buffer", cfg.Buffer,
		"events kept per session for replay (default 64 with -serve)")
	p.Flags.BoolVar(&useTLS, "tls", false, "with -serve, serve HTTPS with HTTP/2")
	p.Flags.IntVar(&events, "events", events,
		"with -connect, how many events to read (reconnecting as EventSource does)")
	p.Main()
}
