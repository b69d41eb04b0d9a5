package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

// run is what one client measured.
type run struct {
	Total   time.Duration // from the first request to having everything done
	Blocked time.Duration // time spent waiting inside requests to the server
	Result  string
}

// result is what the scenario measured.
type result struct {
	Sync, Async run
	Order       ordering
}

// doTask is the client's own work, which needs no server.
func doTask(ctx context.Context, d time.Duration) error { return timing.Sleep(ctx, d) }

// call makes one request and returns its status, body, Location header and
// how long the client was blocked in it.
func call(ctx context.Context, method, url string) (int, string, string, time.Duration, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, "", "", 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b)),
		resp.Header.Get("Location"), time.Since(start), err
}

// syncClient asks for the job and waits for it, then does its own tasks.
func syncClient(ctx context.Context, tl *timeline.Timeline, base string, cfg config) (run, error) {
	var r run
	start := time.Now()
	path := fmt.Sprintf("/work?ms=%d", cfg.Job.Milliseconds())
	tl.Send("sync", "server", "POST %s", path)
	code, body, _, took, err := call(ctx, http.MethodPost, base+path)
	if err != nil || code != http.StatusOK {
		return r, fmt.Errorf("sync POST %s: %d %v", path, code, err)
	}
	r.Blocked += took
	r.Result = body
	tl.Send("server", "sync", "200 %s", body)
	tl.Note("sync", "was blocked %s waiting, doing nothing", timeline.Ms(took))
	for i := range cfg.Tasks {
		if err := doTask(ctx, cfg.Task); err != nil {
			return r, err
		}
		tl.Note("sync", "own task %d done", i+1)
	}
	r.Total = time.Since(start)
	return r, nil
}

// asyncClient submits the job, does its own tasks while the server works,
// then collects the result.
func asyncClient(ctx context.Context, tl *timeline.Timeline, base string, cfg config) (run, error) {
	var r run
	start := time.Now()
	path := fmt.Sprintf("/jobs?ms=%d", cfg.Job.Milliseconds())
	tl.Send("async", "server", "POST %s", path)
	code, body, loc, took, err := call(ctx, http.MethodPost, base+path)
	if err != nil || code != http.StatusAccepted || loc == "" {
		return r, fmt.Errorf("async POST %s: %d %q %v", path, code, body, err)
	}
	r.Blocked += took
	tl.Send("server", "async", "202 Accepted, Location: %s", loc)
	for i := range cfg.Tasks {
		if err := doTask(ctx, cfg.Task); err != nil {
			return r, err
		}
		tl.Note("async", "own task %d done", i+1)
	}
	for {
		tl.Send("async", "server", "GET %s", loc)
		code, body, _, took, err = call(ctx, http.MethodGet, base+loc)
		r.Blocked += took
		if err != nil {
			return r, err
		}
		if code == http.StatusOK {
			tl.Send("server", "async", "200 %s", body)
			r.Result = body
			break
		}
		if code != http.StatusAccepted {
			return r, fmt.Errorf("GET %s: %d %s", loc, code, body)
		}
		tl.Send("server", "async", "202 still running")
		if err := doTask(ctx, cfg.Task/4); err != nil {
			return r, err
		}
	}
	r.Total = time.Since(start)
	return r, nil
}

// compare runs the sync client, then the async client, against base.
func compare(ctx context.Context, tl *timeline.Timeline, base string, cfg config) (result, error) {
	var res result
	var err error
	tl.Printf("== a %v job on the server, and %d tasks of %v the client must also do",
		cfg.Job, cfg.Tasks, cfg.Task)
	if res.Sync, err = syncClient(ctx, tl, base, cfg); err != nil {
		return res, err
	}
	if res.Async, err = asyncClient(ctx, tl, base, cfg); err != nil {
		return res, err
	}
	tl.Printf("")
	tl.Printf("%-8s %10s %16s", "client", "total", "blocked waiting")
	tl.Printf("%-8s %10s %16s", "sync", timeline.Ms(res.Sync.Total), timeline.Ms(res.Sync.Blocked))
	tl.Printf("%-8s %10s %16s", "async", timeline.Ms(res.Async.Total), timeline.Ms(res.Async.Blocked))
	tl.Printf("")
	return res, nil
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	s := newServer(ctx, tl)
	defer s.wait()
	srv, err := demo.StartHTTP(ctx, &http.Server{Handler: s.handler()}, "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	defer srv.Close()
	return compare(ctx, tl, srv.URL, cfg)
}
