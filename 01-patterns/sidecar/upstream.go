package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/internal/timeline"
)

// Faults the upstream can be told to inject, one per incoming request.
const (
	// fail503 answers 503 Service Unavailable without doing the work.
	fail503 = "503"
	// failSlow does the work, then holds the response back until the
	// caller gives up (or stallFor passes): the caller cannot tell whether
	// the work was done.
	failSlow = "slow"
)

// stallFor bounds how long a failSlow response is held back.
const stallFor = 5 * time.Second

// maxKeys bounds the Idempotency-Keys the upstream remembers.
const maxKeys = 10_000

// upstream is the course's logging service: POST /log {"num": n} logs
// n squared and answers {"success": true}. It honours Idempotency-Key
// (draft-ietf-httpapi-idempotency-key-header): a request whose key it has
// seen gets the first answer again and logs nothing, so a retry is safe.
type upstream struct {
	tl    *timeline.Timeline
	quiet atomic.Bool // note nothing on tl

	mu       sync.Mutex
	faults   []string
	answered map[string][]byte // Idempotency-Key -> the response body
	keys     []string          // in arrival order, to forget the oldest
	st       upstreamStats
}

// upstreamStats is what the upstream counted.
type upstreamStats struct {
	Attempts int            `json:"attempts"` // requests to /log that arrived
	Logged   int            `json:"logged"`   // squares logged
	Replayed int            `json:"replayed"` // answered again from an Idempotency-Key
	Failed   int            `json:"failed"`   // faults injected
	Callers  map[string]int `json:"callers"`  // by the X-Caller header
}

func (u *upstream) note(format string, args ...any) {
	if !u.quiet.Load() {
		u.tl.Note("upstream", format, args...)
	}
}

func newUpstream(tl *timeline.Timeline) *upstream {
	return &upstream{tl: tl, answered: make(map[string][]byte),
		st: upstreamStats{Callers: map[string]int{}}}
}

// failNext makes the next requests fail, one fault each.
func (u *upstream) failNext(faults ...string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.faults = append(u.faults, faults...)
}

// drop forgets faults not yet injected.
func (u *upstream) drop() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.faults = nil
}

// stats returns a copy of the counts and resets them.
func (u *upstream) stats() upstreamStats {
	u.mu.Lock()
	defer u.mu.Unlock()
	st := u.st
	u.st = upstreamStats{Callers: map[string]int{}}
	return st
}

func (u *upstream) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /log", u.log)
	mux.HandleFunc("POST /admin/fail", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		kind := r.URL.Query().Get("kind")
		if kind == "" {
			kind = fail503
		}
		if err != nil || n < 0 || n > 1000 || kind != fail503 && kind != failSlow {
			http.Error(w, "want n=0..1000 and kind=503 or slow", http.StatusBadRequest)
			return
		}
		for range n {
			u.failNext(kind)
		}
		fmt.Fprintf(w, "the next %d requests fail (%s)\n", n, kind)
	})
	return mux
}

func (u *upstream) log(w http.ResponseWriter, r *http.Request) {
	caller := r.Header.Get("X-Caller")
	key := r.Header.Get("Idempotency-Key")
	var in struct {
		Num *int64 `json:"num"`
	}
	err := json.NewDecoder(io.LimitReader(r.Body, 1024)).Decode(&in)
	if err != nil || in.Num == nil || *in.Num > 3e9 || *in.Num < -3e9 {
		http.Error(w, `want {"num": n} with |n| <= 3e9`, http.StatusBadRequest)
		return
	}
	if len(key) > 255 {
		http.Error(w, "Idempotency-Key too long", http.StatusBadRequest)
		return
	}
	n := *in.Num

	u.mu.Lock()
	u.st.Attempts++
	u.st.Callers[caller]++
	var fault string
	if len(u.faults) > 0 {
		fault, u.faults = u.faults[0], u.faults[1:]
	}
	if fault == fail503 {
		u.st.Failed++
		u.mu.Unlock()
		u.note("num=%d caller=%q: failing with 503 (injected)", n, caller)
		http.Error(w, "injected failure", http.StatusServiceUnavailable)
		return
	}
	body, seen := u.answered[key]
	if key != "" && seen {
		u.st.Replayed++
		u.mu.Unlock()
		u.note("num=%d caller=%q: key %s seen before: "+
			"same answer, nothing logged", n, caller, key)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
		return
	}
	// The work: log the square, and remember the answer under the key in
	// the same step, so a retry can never log it twice.
	u.st.Logged++
	body = []byte(`{"success":true}` + "\n")
	if key != "" {
		if len(u.keys) == maxKeys {
			delete(u.answered, u.keys[0])
			u.keys = u.keys[1:]
		}
		u.answered[key] = body
		u.keys = append(u.keys, key)
	}
	if fault == failSlow {
		u.st.Failed++
	}
	u.mu.Unlock()
	u.note("num=%d caller=%q: logged %d", n, caller, n*n)

	if fault == failSlow {
		u.note("holding the answer back (injected)")
		t := time.NewTimer(stallFor)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return // the caller gave up; the work is done all the same
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}
