// Sidecar: the app speaks plain HTTP to a process beside it on
// localhost, and that process, the sidecar, gives it what it would
// otherwise have to write itself: TLS to the upstream verified against a
// CA, retries with backoff under a retry budget for idempotent requests
// only, per-try and per-request timeouts, request logs and counters, and
// a header naming the caller.
//
//	go run ./01-patterns/sidecar
//
// The demo starts the course's logging service (POST /log {"num": n}
// logs n squared, answers {"success": true}) on HTTPS, then starts itself
// again as a separate sidecar process and hands it only the CA
// certificate, on stdin. Look for: the upstream failing twice (a 503,
// then an answer held past the per-try timeout) while the app sees one
// clean 200, and the square logged once because the retry carries the
// same Idempotency-Key; the same app straight to the upstream getting
// the 503; a POST without Idempotency-Key not retried; an outage where
// the retry budget keeps retries to a fraction of the traffic; and the
// sidecar's counters. The sidecar retries idempotent methods, and a POST
// only when it carries an Idempotency-Key: a POST whose answer was lost
// may have done its work, and only the app can say repeating it is safe.
// Serve it for curl:
//
//	go run ./01-patterns/sidecar -serve 127.0.0.1:8080
//	curl -X POST 'http://127.0.0.1:8080/admin/fail?n=2'
//	curl -H 'Idempotency-Key: k1' -d '{"num": 4}' http://127.0.0.1:8080/log
//	curl http://127.0.0.1:8080/_sidecar/stats
//
// -connect ADDR is the app alone, logging 1..5 through a sidecar at ADDR.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runSidecar(os.Stdin, os.Stdout, os.Stderr))
	}
	cfg := defaults
	p := demo.New("sidecar",
		"Sidecar: TLS, retries, timeouts, logs and caller identity for an app that "+
			"speaks plain HTTP to localhost.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cfg)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				if err := loopbackOnly(addr); err != nil {
					return err
				}
				s, err := startStack(ctx, tl, cfg, addr)
				if err != nil {
					return err
				}
				tl.Note("demo", "the app's side: http://%s/log; POST /admin/fail?n=N "+
					"makes the upstream fail; GET %s", s.side.Addr, statsPath)
				<-ctx.Done()
				return s.close()
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				a := &app{base: "http://" + addr, hc: &http.Client{}, tl: tl, to: "sidecar"}
				for n := 1; n <= 5; n++ {
					c, err := a.logSquare(ctx, n, true)
					if err != nil {
						return err
					}
					a.show(c)
					if c.Status != http.StatusOK {
						return fmt.Errorf("log %d: got %d, want 200", n, c.Status)
					}
				}
				return nil
			},
		})
	p.Flags.IntVar(&cfg.Attempts, "attempts", cfg.Attempts, "tries per request, the first included")
	p.Flags.DurationVar(&cfg.TryTimeout, "try-timeout", cfg.TryTimeout, "timeout of one try")
	p.Flags.DurationVar(&cfg.Timeout, "timeout-request", cfg.Timeout,
		"timeout of a request, retries included")
	p.Flags.Float64Var(&cfg.Ratio, "budget", cfg.Ratio, "retries allowed per request, over 10s")
	p.Main()
}
