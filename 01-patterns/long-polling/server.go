package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/jobs"
	"backend-protocols/internal/timeline"
)

// maxJobs bounds the jobs a server keeps; see jobs.NewStore.
const maxJobs = 10000

// server is the job API with a long-polling /checkstatus.
type server struct {
	store *jobs.Store
	hold  time.Duration
	tl    *timeline.Timeline

	held     atomic.Int64 // requests being held right now
	released atomic.Int64 // UnixNano when a held request last ended
	mux      *http.ServeMux
}

func newServer(store *jobs.Store, hold time.Duration, tl *timeline.Timeline) *server {
	s := &server{store: store, hold: hold, tl: tl, mux: http.NewServeMux()}
	s.mux.HandleFunc("/submit", store.HandleSubmit)
	s.mux.HandleFunc("GET /checkstatus", s.checkStatus)
	s.mux.HandleFunc("GET /status", s.status)
	s.mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"held\":%d,\"jobs\":%d}\n", s.held.Load(), store.Len())
	})
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// checkStatus is the long poll. It answers as soon as the job's progress
// differs from since (the query parameter; the progress at arrival if
// absent), or after the hold timeout with the unchanged progress. If the
// client hangs up first, the request's context ends and so does the
// handler: nothing waits on a client that is gone.
func (s *server) checkStatus(w http.ResponseWriter, r *http.Request) {
	id, err := jobs.ID(r)
	if err != nil {
		jobs.WriteError(w, err)
		return
	}
	st, err := s.store.Status(id)
	if err != nil {
		jobs.WriteError(w, err)
		return
	}
	since := st.Progress
	if v := r.URL.Query().Get("since"); v != "" {
		if since, err = strconv.Atoi(v); err != nil || since < 0 || since > 100 {
			http.Error(w, "since must be a progress from 0 to 100",
				http.StatusBadRequest)
			return
		}
	}
	s.held.Add(1)
	defer func() {
		s.released.Store(time.Now().UnixNano())
		s.held.Add(-1)
	}()
	ctx, cancel := context.WithTimeout(r.Context(), s.hold)
	defer cancel()
	start := time.Now()
	st, err = s.store.Wait(ctx, id, since)
	switch {
	case r.Context().Err() != nil:
		s.tl.Note("server", "client hung up after %s held; handler released",
			timeline.Ms(time.Since(start)))
	case errors.Is(err, context.DeadlineExceeded):
		s.tl.Note("server", "held %s, no change: answering unchanged",
			timeline.Ms(time.Since(start)))
		jobs.WriteStatus(w, st)
	case err != nil:
		jobs.WriteError(w, err)
	default:
		jobs.WriteStatus(w, st)
	}
}

// status is plain short polling, kept for the comparison: it answers at
// once.
func (s *server) status(w http.ResponseWriter, r *http.Request) {
	id, err := jobs.ID(r)
	if err != nil {
		jobs.WriteError(w, err)
		return
	}
	st, err := s.store.Status(id)
	if err != nil {
		jobs.WriteError(w, err)
		return
	}
	jobs.WriteStatus(w, st)
}

// serve runs the job API on ln until ctx is done, logging each request and
// each change of progress.
func serve(ctx context.Context, ln net.Listener, tl *timeline.Timeline, cfg config) error {
	store := jobs.NewStore(cfg.Tick, maxJobs)
	defer store.Close()
	store.OnChange = func(st jobs.Status) {
		tl.Note("server", "%s at %d%%", st.ID, st.Progress)
	}
	s := newServer(store, cfg.Hold, tl)
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tl.Send(r.RemoteAddr, "server", "%s %s", r.Method, r.URL.RequestURI())
		s.ServeHTTP(w, r)
	})
	tl.Note("server", "listening on %s; jobs advance every %v, polls held up to %v",
		ln.Addr(), cfg.Tick, cfg.Hold)
	return demo.ServeHTTP(ctx, &http.Server{Handler: logged}, ln)
}
