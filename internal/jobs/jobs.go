// Package jobs is the course's job API that short polling and long polling
// both poll: POST /submit starts a job that advances 10% per tick, and the
// job's progress is read back by id. How the progress is read (at once, or
// held until it changes) is the lecture, and lives in each demo; this
// package keeps the jobs, their timers and the wire format the course uses:
//
//	POST /submit                  -> "\n\njob:1700000000000\n\n"
//	GET  /checkstatus?jobId=ID    -> "\n\nJobStatus: 30%\n\n"
//
// Each status response also carries X-Progress-Changed-At, the server's
// time of the last change (RFC 3339, nanoseconds), so a client on the same
// host can measure how late it heard of a change.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Step is how much a job advances per tick, as in the course.
const Step = 10

// ChangedHeader carries the time of the job's last progress change.
const ChangedHeader = "X-Progress-Changed-At"

var (
	// ErrNotFound means no job has the id.
	ErrNotFound = errors.New("jobs: no such job")
	// ErrFull means the store holds its maximum of unfinished jobs.
	ErrFull = errors.New("jobs: too many jobs in progress")
)

// Status is a job's progress at one moment.
type Status struct {
	ID        string
	Progress  int       // 0..100
	ChangedAt time.Time // when Progress last changed
}

// Done reports whether the job has finished.
func (s Status) Done() bool { return s.Progress >= 100 }

type job struct {
	Status
	timer   *time.Timer
	changed chan struct{} // closed and replaced on every change
}

// Store holds jobs in memory and advances each one per tick. It is safe for
// concurrent use. No goroutine runs per job: each has one timer.
type Store struct {
	// OnChange, if set before the first Submit, is called after every
	// change of progress (not for the initial 0%). It must not block.
	OnChange func(Status)

	tick time.Duration
	max  int

	mu     sync.Mutex
	jobs   map[string]*job
	order  []string // submission order, for evicting finished jobs
	lastID int64
	closed bool
}

// NewStore returns a store whose jobs advance Step percent every tick and
// which holds at most max jobs; finished jobs are evicted oldest first to
// make room.
func NewStore(tick time.Duration, max int) *Store {
	return &Store{tick: tick, max: max, jobs: make(map[string]*job)}
}

// Submit starts a new job at 0% and returns its id, "job:" followed by the
// submission time in Unix milliseconds as in the course (bumped by one when
// two jobs arrive in the same millisecond, so ids stay unique).
func (s *Store) Submit() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("jobs: store closed")
	}
	if len(s.jobs) >= s.max && !s.evictLocked() {
		return "", ErrFull
	}
	ms := max(time.Now().UnixMilli(), s.lastID+1)
	s.lastID = ms
	id := "job:" + strconv.FormatInt(ms, 10)
	j := &job{Status: Status{ID: id, ChangedAt: time.Now()},
		changed: make(chan struct{})}
	s.jobs[id] = j
	s.order = append(s.order, id)
	j.timer = time.AfterFunc(s.tick, func() { s.advance(j) })
	return id, nil
}

// evictLocked drops the oldest finished job and reports whether it could.
func (s *Store) evictLocked() bool {
	for i, id := range s.order {
		if j := s.jobs[id]; j == nil || j.Done() {
			delete(s.jobs, id)
			s.order = append(s.order[:i], s.order[i+1:]...)
			return true
		}
	}
	return false
}

func (s *Store) advance(j *job) {
	s.mu.Lock()
	if s.closed || j.Done() {
		s.mu.Unlock()
		return
	}
	j.Progress += Step
	j.ChangedAt = time.Now()
	close(j.changed)
	j.changed = make(chan struct{})
	if !j.Done() {
		j.timer.Reset(s.tick)
	}
	st := j.Status
	s.mu.Unlock()
	if s.OnChange != nil {
		s.OnChange(st)
	}
}

// Status returns a job's progress now.
func (s *Store) Status(id string) (Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return Status{}, ErrNotFound
	}
	return j.Status, nil
}

// Wait returns the job's status as soon as its progress differs from since
// (at once if it already does), or when ctx is done, in which case it
// returns the unchanged status and ctx's error. A finished job never
// changes again, so Wait on it returns at once.
func (s *Store) Wait(ctx context.Context, id string, since int) (Status, error) {
	for {
		s.mu.Lock()
		j, ok := s.jobs[id]
		if !ok {
			s.mu.Unlock()
			return Status{}, ErrNotFound
		}
		st, ch := j.Status, j.changed
		s.mu.Unlock()
		if st.Progress != since || st.Done() {
			return st, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

// Len reports how many jobs the store holds.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs)
}

// Close stops every job's timer. Jobs keep their last progress.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, j := range s.jobs {
		j.timer.Stop()
	}
}

// HandleSubmit answers POST /submit as the course does: the new job's id
// between blank lines. Other methods get 405.
func (s *Store) HandleSubmit(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST /submit", http.StatusMethodNotAllowed)
		return
	}
	id, err := s.Submit()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "\n\n%s\n\n", id)
}

// WriteStatus writes a status response in the course's format, with the
// change time in ChangedHeader.
func WriteStatus(w http.ResponseWriter, st Status) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set(ChangedHeader, st.ChangedAt.Format(time.RFC3339Nano))
	fmt.Fprintf(w, "\n\nJobStatus: %d%%\n\n", st.Progress)
}

// WriteError answers a status request that could not be served: 400 for a
// missing id, 404 for an unknown one, 503 otherwise.
func WriteError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, "\n\nJobStatus: no such job\n\n", http.StatusNotFound)
	case errors.Is(err, errNoID):
		http.Error(w, "jobId query parameter required", http.StatusBadRequest)
	default:
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	}
}

var errNoID = errors.New("jobs: jobId missing")

// ID returns the jobId query parameter of a status request, or an error
// that WriteError turns into 400.
func ID(r *http.Request) (string, error) {
	id := r.URL.Query().Get("jobId")
	if id == "" {
		return "", errNoID
	}
	return id, nil
}

// ParseID reads a job id ("job:" and digits) from a /submit response body.
// The strict shape lets a client put the id in a URL as it is.
func ParseID(body string) (string, error) {
	id := strings.TrimSpace(body)
	digits, ok := strings.CutPrefix(id, "job:")
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return "", fmt.Errorf("jobs: not a job id: %q", body)
	}
	return id, nil
}

// ParseStatus reads the progress from a status response body.
func ParseStatus(body string) (int, error) {
	s := strings.TrimSpace(body)
	rest, ok := strings.CutPrefix(s, "JobStatus: ")
	if !ok || !strings.HasSuffix(rest, "%") {
		return 0, fmt.Errorf("jobs: not a status: %q", body)
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, "%"))
	if err != nil || n < 0 || n > 100 {
		return 0, fmt.Errorf("jobs: bad progress in %q", body)
	}
	return n, nil
}
