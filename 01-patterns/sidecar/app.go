package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"backend-protocols/internal/timeline"
)

// app is the application beside the sidecar. Its code knows one URL and
// one HTTP client; it has no TLS settings, retries, timeouts, logs or
// identity of its own. Pointed at its sidecar it gets them all.
type app struct {
	base string
	hc   *http.Client
	tl   *timeline.Timeline
	to   string // who it talks to, for the narrative
}

// call is one logSquare as the app saw it.
type call struct {
	Status int
	Body   string
	Took   time.Duration
}

// logSquare asks the logging service to log n squared: POST /log
// {"num": n}. With keyed set it sends a fresh Idempotency-Key, which
// makes the POST safe to repeat and so retryable. The reply is not
// narrated; show does that.
func (a *app) logSquare(ctx context.Context, n int, keyed bool) (call, error) {
	body := fmt.Sprintf(`{"num": %d}`, n)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/log",
		strings.NewReader(body))
	if err != nil {
		return call{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	shown := "POST /log " + body
	if keyed {
		key := newKey()
		req.Header.Set("Idempotency-Key", key)
		shown += " Idempotency-Key: " + key
	}
	a.tl.Send("app", a.to, "%s", shown)
	start := time.Now()
	resp, err := a.hc.Do(req)
	if err != nil {
		return call{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return call{Status: resp.StatusCode, Body: string(bytes.TrimSpace(b)),
		Took: time.Since(start)}, err
}

// show narrates a reply the app got.
func (a *app) show(c call) {
	a.tl.Send(a.to, "app", "%d %s (%s)", c.Status, c.Body, timeline.Ms(c.Took))
}

func newKey() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
