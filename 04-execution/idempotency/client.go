package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"backend-protocols/internal/timeline"
)

// client sends requests on a fresh connection each time, so that only
// this code retries (Go's Transport retries some requests by itself on a
// reused connection; see goRetries).
type client struct {
	base string
	http *http.Client
	tl   *timeline.Timeline
}

func newClient(base string, tl *timeline.Timeline) *client {
	return &client{base: base, tl: tl, http: &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true}}}
}

// answer is what came back: a status and body, or an error.
type answer struct {
	Status   int
	Body     string
	Replayed bool
	Err      error
}

func (a answer) String() string {
	if a.Err != nil {
		return "error: " + a.Err.Error()
	}
	s := fmt.Sprintf("%d %s", a.Status, strings.TrimSpace(a.Body))
	if a.Replayed {
		s += " (Idempotent-Replayed)"
	}
	return s
}

func (c *client) do(ctx context.Context, method, path, key, body string) answer {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
	if err != nil {
		return answer{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	what := method + " " + path
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
		what += " Idempotency-Key: " + key
	}
	if body != "" {
		what += " " + body
	}
	c.tl.Send("client", "server", "%s", what)
	resp, err := c.http.Do(req)
	if err != nil {
		a := answer{Err: err}
		c.tl.Note("client", "%s", a)
		return a
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	a := answer{Status: resp.StatusCode, Body: string(b), Err: err,
		Replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
	c.tl.Send("server", "client", "%s", a)
	return a
}

// post sends POST /orders and, if no answer comes back, retries up to
// twice with the same key (or none), as a careful client does.
func (c *client) post(ctx context.Context, key, body string) (answer, int) {
	for try := 1; ; try++ {
		a := c.do(ctx, "POST", "/orders", key, body)
		if a.Err == nil || try == 3 || ctx.Err() != nil {
			return a, try
		}
		c.tl.Note("client", "no answer: retrying")
	}
}
