package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/jobs"
	"backend-protocols/internal/timeline"
)

// result is what the scenario measured.
type result struct {
	Short, Long jobs.Report
	// Timeouts is how many held requests ended unchanged before the first
	// change of a slow job; Requests counts every request for it.
	Timeouts, Requests int
	// Release is the time from a client hanging up to the server's handler
	// returning.
	Release time.Duration
}

// followBothWays submits one job and follows it with a short-polling client
// and a long-polling client at the same time.
func followBothWays(ctx context.Context, tl *timeline.Timeline, base string,
	poll time.Duration) (short, long jobs.Report, err error) {
	c := &jobs.Client{Base: base}
	tl.Send("client", "server", "POST /submit")
	id, err := c.Submit(ctx)
	if err != nil {
		return short, long, fmt.Errorf("submit: %w", err)
	}
	tl.Send("server", "client", "200 %s", id)
	shortF := jobs.Follower{Client: c, Every: poll, Actor: "short",
		Path: func(id string, _ int) string { return "/status?jobId=" + id }}
	longF := jobs.Follower{Client: c, Actor: "long",
		Path: func(id string, last int) string {
			return "/checkstatus?jobId=" + id + "&since=" + strconv.Itoa(last)
		}}
	var wg sync.WaitGroup
	var shortErr error
	wg.Go(func() { short, shortErr = shortF.Follow(ctx, tl, id) })
	long, err = longF.Follow(ctx, tl, id)
	wg.Wait()
	return short, long, errors.Join(err, shortErr)
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	store := jobs.NewStore(cfg.Tick, maxJobs)
	defer store.Close()
	store.OnChange = func(st jobs.Status) {
		tl.Note("server", "%s at %d%%", st.ID, st.Progress)
	}
	srv := newServer(store, cfg.Hold, tl)
	run, err := demo.StartHTTP(ctx, &http.Server{Handler: srv}, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer run.Close()
	tl.Printf("== one job, followed by a short poller (every %v) and a long poller",
		cfg.Poll)
	res.Short, res.Long, err = followBothWays(ctx, tl, run.URL, cfg.Poll)
	if err != nil {
		return res, err
	}
	tl.Printf("")
	tl.Printf("%-28s %8s %8s", "", "short", "long")
	tl.Printf("%-28s %8d %8d", "requests sent", res.Short.Requests, res.Long.Requests)
	tl.Printf("%-28s %8d %8d", "requests with news", res.Short.News, res.Long.News)
	tl.Printf("%-28s %8d %8d", "requests wasted", res.Short.Wasted(), res.Long.Wasted())
	tl.Printf("%-28s %8s %8s", "change -> client, mean",
		timeline.Ms(res.Short.MeanDelay()), timeline.Ms(res.Long.MeanDelay()))
	tl.Printf("")

	if res.Timeouts, res.Requests, err = holdTimeout(ctx, tl, cfg); err != nil {
		return res, err
	}
	if res.Release, err = hangUp(ctx, tl); err != nil {
		return res, err
	}
	return res, nil
}

// holdTimeout follows a job whose ticks are slower than the server's hold:
// held requests time out unchanged and the client asks again until the
// first change arrives.
func holdTimeout(ctx context.Context, tl *timeline.Timeline, cfg config) (timeouts, requests int, err error) {
	hold := 40 * time.Millisecond
	tick := 100 * time.Millisecond
	tl.Printf("== a slow job (10%% every %v) behind a short hold (%v)", tick, hold)
	store := jobs.NewStore(tick, 1)
	defer store.Close()
	run, err := demo.StartHTTP(ctx, &http.Server{Handler: newServer(store, hold, tl)},
		"127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer run.Close()
	c := &jobs.Client{Base: run.URL}
	id, err := c.Submit(ctx)
	if err != nil {
		return 0, 0, err
	}
	for {
		path := "/checkstatus?jobId=" + id + "&since=0"
		tl.Send("client", "server", "GET %s", path)
		st, err := c.Get(ctx, path)
		if err != nil {
			return timeouts, requests, err
		}
		requests++
		if st.Progress != 0 {
			tl.Send("server", "client", "JobStatus: %d%%   news", st.Progress)
			break
		}
		timeouts++
		tl.Send("server", "client", "JobStatus: 0%%   timed out, ask again")
	}
	tl.Printf("%d requests for the first change, %d of them timed out\n",
		requests, timeouts)
	return timeouts, requests, nil
}

// hangUp starts a long poll on a job that will not change, hangs up while
// it is held, and measures how soon the server's handler lets go.
func hangUp(ctx context.Context, tl *timeline.Timeline) (time.Duration, error) {
	tl.Printf("== a client hangs up while its request is held")
	store := jobs.NewStore(time.Hour, 1)
	defer store.Close()
	srv := newServer(store, time.Hour, tl)
	run, err := demo.StartHTTP(ctx, &http.Server{Handler: srv}, "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer run.Close()
	id, err := store.Submit()
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	tl.Send("client", "server", "GET /checkstatus?jobId=%s", id)
	go func() {
		_, err := (&jobs.Client{Base: run.URL}).Get(cctx, "/checkstatus?jobId="+id)
		done <- err
	}()
	if err := waitFor(ctx, func() bool { return srv.held.Load() == 1 }); err != nil {
		return 0, fmt.Errorf("request never held: %w", err)
	}
	tl.Note("client", "hangs up")
	t0 := time.Now()
	cancel()
	<-done
	if err := waitFor(ctx, func() bool { return srv.held.Load() == 0 }); err != nil {
		return 0, fmt.Errorf("handler still held after hang-up: %w", err)
	}
	release := time.Unix(0, srv.released.Load()).Sub(t0)
	tl.Printf("the server's handler returned %s after the client hung up",
		timeline.Ms(release))
	return release, nil
}

// waitFor checks cond every millisecond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}
