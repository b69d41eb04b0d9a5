package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

const (
	maxJobTime = time.Minute // longest job a client may ask for
	maxJobs    = 1000        // jobs remembered; beyond it, 503
)

// slowJob stands for work that takes a while: a report, a transcode, a call
// to a slow service. It honours ctx so an abandoned sync request stops it.
func slowJob(ctx context.Context, d time.Duration) (string, error) {
	if err := timing.Sleep(ctx, d); err != nil {
		return "", err
	}
	return fmt.Sprintf("job of %v done", d), nil
}

// jobTime reads ?ms=N, the job's duration.
func jobTime(r *http.Request) (time.Duration, error) {
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	d := time.Duration(ms) * time.Millisecond
	if err != nil || d < 0 || d > maxJobTime {
		return 0, fmt.Errorf("ms must be a job time from 0 to %d", maxJobTime.Milliseconds())
	}
	return d, nil
}

// asyncJob is a job running in the background.
type asyncJob struct {
	done   chan struct{}
	result string
}

// server runs slow jobs two ways.
type server struct {
	ctx context.Context // ends background jobs on shutdown
	tl  *timeline.Timeline

	mu    sync.Mutex
	next  int
	jobs  map[string]*asyncJob
	order []string // job ids, oldest first, for eviction
	wg    sync.WaitGroup
}

func newServer(ctx context.Context, tl *timeline.Timeline) *server {
	return &server{ctx: ctx, tl: tl, jobs: map[string]*asyncJob{}}
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /work", s.work)
	mux.HandleFunc("POST /jobs", s.submit)
	mux.HandleFunc("GET /jobs/{id}", s.status)
	return mux
}

// work is synchronous: the response is the result, so the client waits for
// the whole job.
func (s *server) work(w http.ResponseWriter, r *http.Request) {
	d, err := jobTime(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res, err := slowJob(r.Context(), d)
	if err != nil {
		return // the client went away; nobody to answer
	}
	fmt.Fprintln(w, res)
}

// submit is asynchronous: it starts the job in the background and answers
// 202 Accepted with where to collect the result.
func (s *server) submit(w http.ResponseWriter, r *http.Request) {
	d, err := jobTime(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if len(s.jobs) >= maxJobs && !s.evictLocked() {
		s.mu.Unlock()
		http.Error(w, "too many jobs running", http.StatusServiceUnavailable)
		return
	}
	s.next++
	id := strconv.Itoa(s.next)
	j := &asyncJob{done: make(chan struct{})}
	s.jobs[id] = j
	s.order = append(s.order, id)
	s.mu.Unlock()
	s.wg.Go(func() {
		res, err := slowJob(s.ctx, d)
		if err != nil {
			res = "cancelled: " + err.Error()
		}
		j.result = res
		close(j.done)
		s.tl.Note("server", "job %s finished in the background", id)
	})
	w.Header().Set("Location", "/jobs/"+id)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]string{"id": id, "status": "running"})
}

// evictLocked forgets the oldest finished job and reports whether there
// was one.
func (s *server) evictLocked() bool {
	for i, id := range s.order {
		select {
		case <-s.jobs[id].done:
			delete(s.jobs, id)
			s.order = append(s.order[:i], s.order[i+1:]...)
			return true
		default:
		}
	}
	return false
}

// status answers 202 while the job runs and 200 with the result after.
func (s *server) status(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j := s.jobs[r.PathValue("id")]
	s.mu.Unlock()
	if j == nil {
		http.Error(w, "no such job", http.StatusNotFound)
		return
	}
	select {
	case <-j.done:
		fmt.Fprintln(w, j.result)
	default:
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintln(w, "running")
	}
}

// wait waits for background jobs to end (they end with s.ctx).
func (s *server) wait() { s.wg.Wait() }

func serve(ctx context.Context, ln net.Listener, tl *timeline.Timeline) error {
	s := newServer(ctx, tl)
	defer s.wait()
	err := demo.ServeHTTP(ctx, &http.Server{Handler: s.handler()}, ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
