package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/jobs"
	"backend-protocols/internal/timeline"
)

// maxJobs bounds the jobs a server keeps; see jobs.NewStore.
const maxJobs = 10000

// newHandler serves the course's job API with short polling: /checkstatus
// answers at once with whatever the progress is now.
func newHandler(store *jobs.Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/submit", store.HandleSubmit)
	mux.HandleFunc("GET /checkstatus", func(w http.ResponseWriter, r *http.Request) {
		id, err := jobs.ID(r)
		if err != nil {
			jobs.WriteError(w, err)
			return
		}
		st, err := store.Status(id)
		if err != nil {
			jobs.WriteError(w, err)
			return
		}
		jobs.WriteStatus(w, st)
	})
	return mux
}

// serve runs the job API on ln until ctx is done, logging each request and
// each change of progress.
func serve(ctx context.Context, ln net.Listener, tl *timeline.Timeline, cfg config) error {
	store := jobs.NewStore(cfg.Tick, maxJobs)
	defer store.Close()
	store.OnChange = func(st jobs.Status) {
		tl.Note("server", "%s at %d%%", st.ID, st.Progress)
	}
	h := newHandler(store)
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tl.Send(r.RemoteAddr, "server", "%s %s", r.Method, r.URL.RequestURI())
		h.ServeHTTP(w, r)
	})
	return demo.ServeHTTP(ctx, &http.Server{Handler: logged}, ln)
}

// pollJob submits a job to the server at base and polls its status every
// interval until it reaches 100%.
func pollJob(ctx context.Context, tl *timeline.Timeline, base string,
	every time.Duration) (jobs.Report, error) {
	c := &jobs.Client{Base: base}
	tl.Send("client", "server", "POST /submit")
	id, err := c.Submit(ctx)
	if err != nil {
		return jobs.Report{}, fmt.Errorf("submit: %w", err)
	}
	tl.Send("server", "client", "200 %s", id)
	f := jobs.Follower{Client: c, Every: every, Actor: "client",
		Path: func(id string, _ int) string { return "/checkstatus?jobId=" + id }}
	return f.Follow(ctx, tl, id)
}

// scenario runs a server, polls one job to completion, asks for an unknown
// job, and prints the chattiness.
func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (jobs.Report, error) {
	store := jobs.NewStore(cfg.Tick, maxJobs)
	defer store.Close()
	store.OnChange = func(st jobs.Status) {
		tl.Note("server", "%s at %d%%", st.ID, st.Progress)
	}
	srv, err := demo.StartHTTP(ctx, &http.Server{Handler: newHandler(store)},
		"127.0.0.1:0")
	if err != nil {
		return jobs.Report{}, err
	}
	defer srv.Close()
	tl.Note("server", "job API on %s; a job advances 10%% every %v",
		srv.URL, cfg.Tick)
	tl.Note("client", "polling every %v", cfg.Poll)

	rep, err := pollJob(ctx, tl, srv.URL, cfg.Poll)
	if err != nil {
		return rep, err
	}

	c := &jobs.Client{Base: srv.URL}
	tl.Send("client", "server", "GET /checkstatus?jobId=job:0")
	if _, err := c.Get(ctx, "/checkstatus?jobId=job:0"); !errors.Is(err, jobs.ErrNotFound) {
		return rep, fmt.Errorf("unknown job: got %v, want 404", err)
	}
	tl.Send("server", "client", "404 no such job")

	tl.Printf("")
	tl.Printf("short polling, job of %d ticks of %v, polled every %v:",
		100/jobs.Step, cfg.Tick, cfg.Poll)
	tl.Printf("  requests sent           %d", rep.Requests)
	tl.Printf("  requests with news      %d", rep.News)
	tl.Printf("  requests wasted         %d (%.0f%%)", rep.Wasted(),
		100*float64(rep.Wasted())/float64(rep.Requests))
	tl.Printf("  change -> client, mean  %s (half the poll interval is %s)",
		timeline.Ms(rep.MeanDelay()), timeline.Ms(cfg.Poll/2))
	tl.Printf("  submit -> 100%%          %s", timeline.Ms(rep.Elapsed))
	return rep, nil
}
