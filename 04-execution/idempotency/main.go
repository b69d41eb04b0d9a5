// Idempotency: POST /orders where the answer is lost after the order was
// committed, and the client retries. Without an Idempotency-Key the retry
// makes a second order; with one, the server remembers the key and
// answers the retry with the stored response.
//
//	go run ./04-execution/idempotency
//
// Then: two requests with one key at once (one order, the other gets 409
// Conflict), a key reused for a different body (422), a key that has
// expired (a new order), GET, PUT and DELETE sent twice (the state after
// two is the state after one) against POST, and Go's own http.Transport
// retrying a POST by itself because it carries an Idempotency-Key. The
// key is a quoted string (draft-ietf-httpapi-idempotency-key-header):
//
//	go run ./04-execution/idempotency -serve 127.0.0.1:8080
//	curl -i -H 'Idempotency-Key: "k1"' -d '{"item":"book","qty":1}' http://127.0.0.1:8080/orders
package main

import (
	"context"
	"net/http"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{TTL: 24 * time.Hour, Work: 50 * time.Millisecond}
	p := demo.New("idempotency",
		"Idempotency: retries, lost answers and the Idempotency-Key header.",
		demo.Modes{
			Scenario: cfg.run,
			Serve:    cfg.serve,
		})
	p.Flags.DurationVar(&cfg.TTL, "ttl", cfg.TTL, "how long the server remembers a key")
	p.Flags.DurationVar(&cfg.Work, "work", cfg.Work, "how long committing an order takes")
	p.Main()
}

type config struct {
	TTL  time.Duration // key lifetime
	Work time.Duration // time to commit an order
}

// serve runs the order API for real clients, logging every request.
func (cfg *config) serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	ln, err := demo.Listen(addr)
	if err != nil {
		return err
	}
	st := newStore(cfg.TTL, cfg.Work)
	h := st.handler()
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tl.Send(r.RemoteAddr, "server", "%s %s Idempotency-Key: %s",
			r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"))
		h.ServeHTTP(w, r)
	})
	return demo.ServeHTTP(ctx, &http.Server{Handler: logged}, ln)
}
