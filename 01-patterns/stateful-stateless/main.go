// Stateful versus stateless: two instances of an app behind a
// round-robin balancer. Stateful, a login keeps the session in the memory
// of the instance that made it; stateless, the client carries a signed,
// expiring token (HMAC-SHA256, standard library only), or the session
// sits in a store every instance shares.
//
//	go run ./01-patterns/stateful-stateless
//
// Look for: the stateful session refused (401) by the other instance and
// forgotten by a restart; the token and the shared store working on
// either instance and across restarts; logout revoking a stored session
// everywhere at once but not a token; forged, truncated, re-signed,
// alg-confused, expired and not-yet-valid tokens refused with 401 and the
// reason; and HTTP, a stateless protocol, on one TCP connection: a
// request without a token is refused right after one with it, and when
// the connection is reset in the middle of a response, the idempotent
// GET is retried on a new connection and loses nothing. Serve it:
//
//	go run ./01-patterns/stateful-stateless -serve 127.0.0.1:8080 -mode stateful
//	curl -c jar -d user=alice http://127.0.0.1:8080/login
//	curl -b jar http://127.0.0.1:8080/me        # twice: b refuses, a knows her
//	curl -X POST http://127.0.0.1:8080/lb/restart
//
// -connect ADDR logs in through a balancer started elsewhere and asks
// /me four times.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := defaults
	m := string(stateful)
	p := demo.New("stateful-stateless",
		"Stateful versus stateless: sessions in memory, signed tokens and a shared store "+
			"behind a round-robin balancer.",
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
				return serve(ctx, tl, ln, mode(m), cfg.TTL)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				_, err := connect(ctx, tl, "http://"+addr)
				return err
			},
		})
	p.Flags.StringVar(&m, "mode", m, "with -serve: stateful, token or store")
	p.Flags.DurationVar(&cfg.TTL, "ttl", cfg.TTL, "lifetime of sessions and tokens")
	p.Main()
}

// serve runs a balancer on ln over two instances in mode m until ctx is
// done.
func serve(ctx context.Context, tl *timeline.Timeline, ln net.Listener, m mode,
	ttl time.Duration) error {
	if m != stateful && m != token && m != store {
		ln.Close()
		return fmt.Errorf("unknown -mode %q: want stateful, token or store", m)
	}
	key := make([]byte, 32)
	rand.Read(key)
	cl, err := startCluster(ctx, tl, appConfig{Mode: m, TTL: ttl,
		Signer: &Signer{Key: key, TTL: ttl}}, ln)
	if err != nil {
		return err
	}
	defer cl.close()
	tl.Note("lb", "POST /login user=NAME, GET /me, POST /logout, "+
		"GET /report?lines=N&every=D; POST /lb/restart restarts both instances")
	<-ctx.Done()
	return nil
}

// connect logs alice in through the balancer at base and asks who she
// is four times, printing which instance answered each.
func connect(ctx context.Context, tl *timeline.Timeline, base string) ([]reply, error) {
	c := &client{base: base, hc: &http.Client{}, tl: tl}
	defer c.hc.CloseIdleConnections()
	login, err := c.login(ctx, "alice")
	if err != nil {
		return nil, err
	}
	if login.Status != http.StatusOK {
		return nil, fmt.Errorf("login: got %d, want 200", login.Status)
	}
	out := []reply{login}
	for range 4 {
		r, err := c.me(ctx, login.Credential)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
