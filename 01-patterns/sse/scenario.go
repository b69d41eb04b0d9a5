package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

// result is what the scenario measured.
type result struct {
	Resume struct {
		IDs      []string // every id the client received, before and after
		Replayed int      // events that arrived at once on reconnecting
	}
	Drops struct {
		IDs        []string
		Reconnects int
		Wait       time.Duration // mean time from the server's hang-up to the next request
	}
	Gap struct {
		Before, After string // ids either side of the buffer overflow
		Missing       int
	}
	H2 struct {
		Proto string
		IDs   []string
	}
	DataFrames int // DATA frames seen on the h2c stream
	Sessions   int // sessions alive after the grace period
}

// seq returns the event number of each id ("sid.n" -> n) and its session.
func seq(evs []received) (sid string, ns []int) {
	for _, e := range evs {
		s, n, _ := parseID(e.ID)
		sid = s
		ns = append(ns, n)
	}
	return sid, ns
}

func ids(evs []received) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	h := newHub(cfg, tl)
	defer h.close()
	srv, err := newServer(h, nil, nil)
	if err != nil {
		return res, err
	}
	run, err := demo.StartHTTP(ctx, srv, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer run.Close()
	tl.Note("server", "event stream on %s/stream: one event every %v per client, %d kept for replay",
		run.URL, cfg.Tick, cfg.Buffer)
	hc := &http.Client{}
	defer hc.CloseIdleConnections()

	if err := resumeStep(ctx, tl, &res, h, hc, run.URL); err != nil {
		return res, fmt.Errorf("resume: %w", err)
	}
	if err := dropStep(ctx, tl, &res, hc, run.URL); err != nil {
		return res, fmt.Errorf("server hang-ups: %w", err)
	}
	if err := gapStep(ctx, tl, &res, h, hc, run.URL); err != nil {
		return res, fmt.Errorf("buffer overflow: %w", err)
	}
	if err := h2Step(ctx, tl, &res, h, run.Addr); err != nil {
		return res, fmt.Errorf("HTTP/2: %w", err)
	}
	if err := expiryStep(ctx, tl, &res, cfg, h); err != nil {
		return res, fmt.Errorf("expiry: %w", err)
	}
	return res, nil
}

// awayUntil keeps a client away until its session has made n events in
// all: the demo waits on the server's count rather than on the clock, so a
// busy machine changes the timing but not the story.
func awayUntil(ctx context.Context, h *hub, sid string, n int) error {
	for {
		made, ok := h.eventsMade(sid)
		if !ok {
			return fmt.Errorf("session %s expired while the client was away", sid)
		}
		if made >= n {
			return nil
		}
		if err := timing.Sleep(ctx, h.cfg.Tick/2); err != nil {
			return err
		}
	}
}

// resumeStep: three events, a lost connection, then a resume that replays
// what was missed.
func resumeStep(ctx context.Context, tl *timeline.Timeline, res *result, h *hub,
	hc *http.Client, base string) error {
	tl.Printf("== a client loses its connection and resumes with Last-Event-ID")
	c := newStreamClient("client", hc, base+"/stream", tl)
	first, _, err := c.connect(ctx, 3)
	if err != nil {
		return err
	}
	sid, _ := seq(first)
	tl.Note("client", "connection lost; the server keeps counting")
	if err := awayUntil(ctx, h, sid, 7); err != nil {
		return err
	}
	made, _ := h.eventsMade(sid)
	tl.Note("client", "back, after the server made events 3..%d", made-1)
	rest, _, err := c.connect(ctx, 6)
	if err != nil {
		return err
	}
	_, ns := seq(rest)
	for _, n := range ns {
		if n < made {
			res.Resume.Replayed++
		}
	}
	all := append(first, rest...)
	res.Resume.IDs = ids(all)
	_, ns = seq(all)
	if !contiguous(ns, 0) {
		return fmt.Errorf("got event numbers %v, want 0, 1, 2... with no gap", ns)
	}
	tl.Printf("ids %s: no gap; %d missed events replayed from the buffer\n",
		strings.Join(res.Resume.IDs, " "), res.Resume.Replayed)
	return nil
}

// dropStep: the server ends the stream every three events; the client
// waits the retry time and resumes each time.
func dropStep(ctx context.Context, tl *timeline.Timeline, res *result,
	hc *http.Client, base string) error {
	tl.Printf("== the server hangs up every 3 events (?drop=3); the client follows retry:")
	c := newStreamClient("client2", hc, base+"/stream?drop=3", tl)
	evs, waits, err := c.follow(ctx, 8)
	if err != nil {
		return err
	}
	res.Drops.IDs, res.Drops.Reconnects = ids(evs), len(waits)
	_, ns := seq(evs)
	if !contiguous(ns, 0) {
		return fmt.Errorf("got event numbers %v across reconnects, want no gap", ns)
	}
	for _, w := range waits {
		res.Drops.Wait += w / time.Duration(len(waits))
	}
	tl.Printf("%d events, %d reconnects after %s on average (retry: %v), ids %s: no gap, nothing twice\n",
		len(evs), len(waits), timeline.Ms(res.Drops.Wait), c.retry,
		strings.Join(res.Drops.IDs, " "))
	return nil
}

// gapStep: a client stays away longer than the buffer holds; its ids jump.
func gapStep(ctx context.Context, tl *timeline.Timeline, res *result, h *hub,
	hc *http.Client, base string) error {
	tl.Printf("== a client away longer than the buffer (%d events) loses the oldest", h.cfg.Buffer)
	c := newStreamClient("client3", hc, base+"/stream", tl)
	first, _, err := c.connect(ctx, 1)
	if err != nil {
		return err
	}
	sid, a := seq(first)
	tl.Note("client3", "connection lost")
	if err := awayUntil(ctx, h, sid, a[0]+h.cfg.Buffer+4); err != nil {
		return err
	}
	next, _, err := c.connect(ctx, 1)
	if err != nil {
		return err
	}
	_, b := seq(next)
	res.Gap.Before, res.Gap.After = first[0].ID, next[0].ID
	res.Gap.Missing = b[0] - a[0] - 1
	tl.Printf("ids jump from %s to %s: %d events lost, and the client can tell\n",
		res.Gap.Before, res.Gap.After, res.Gap.Missing)
	return nil
}

// h2Step: the same stream over HTTP/2 with TLS, then over h2c frame by
// frame.
func h2Step(ctx context.Context, tl *timeline.Timeline, res *result, h *hub, h2cAddr string) error {
	tl.Printf("== over HTTP/2 with TLS (ALPN h2), certificate from an in-memory CA")
	ca, err := certs.NewCA()
	if err != nil {
		return err
	}
	srv, err := newServer(h, nil, ca)
	if err != nil {
		return err
	}
	run, err := demo.StartHTTP(ctx, srv, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer run.Close()
	tr := &http.Transport{TLSClientConfig: ca.ClientConfig(), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := newStreamClient("h2client", &http.Client{Transport: tr}, run.URL+"/stream", tl)
	evs, proto, err := c.connect(ctx, 3)
	if err != nil {
		return err
	}
	res.H2.Proto, res.H2.IDs = proto, ids(evs)
	tl.Printf("")
	tl.Printf("== the frames of a stream over h2c (HTTP/2 without TLS), read by hand")
	n, err := frameView(ctx, tl, h2cAddr, "/stream?drop=2")
	res.DataFrames = n
	if err != nil {
		return err
	}
	tl.Printf("%d DATA frames on stream 1: the response never ends until the server does\n", n)
	return nil
}

// expiryStep: with every client gone, each session's timer stops once the
// grace period passes.
func expiryStep(ctx context.Context, tl *timeline.Timeline, res *result, cfg config, h *hub) error {
	tl.Printf("== every client has left; sessions wait %v for them, then stop", cfg.Grace)
	tl.Note("server", "%d sessions alive", h.sessionCount())
	deadline := time.Now().Add(cfg.Grace + 5*time.Second)
	for h.sessionCount() > 0 {
		if time.Now().After(deadline) {
			return errors.New("sessions still alive long after the grace period")
		}
		if err := timing.Sleep(ctx, cfg.Grace/10); err != nil {
			return err
		}
	}
	res.Sessions = h.sessionCount()
	tl.Note("server", "%d sessions alive: no timer left behind", res.Sessions)
	return nil
}

// contiguous reports whether ns counts up by one from start.
func contiguous(ns []int, start int) bool {
	for i, n := range ns {
		if n != start+i {
			return false
		}
	}
	return true
}
