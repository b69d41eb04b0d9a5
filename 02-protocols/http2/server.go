package main

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/internal/certs"
)

// Bounds on what a client may ask for.
const (
	maxSlow     = 10 * time.Second
	maxBigKB    = 64 << 10 // 64 MiB
	maxTogether = 1000
	chunk       = 4 << 10 // /big writes 4 KiB at a time
)

// server is the demo's HTTP handler; it counts what the scenario checks.
type server struct {
	mux   *http.ServeMux
	conns atomic.Int64 // TCP connections accepted

	// started receives the path of a /slow or /wait request once its
	// handler runs, so the scenario can wait on it instead of the clock.
	started chan string
	// cancelled receives when a /wait handler saw its request cancelled.
	cancelled chan struct{}

	mu       sync.Mutex
	inflight int           // /together handlers running now
	peak     int           // most /together handlers running at once
	full     chan struct{} // closed when inflight reaches the asked number

	blocked atomic.Int64 // longest /big Write+Flush, in nanoseconds
}

func newServer() *server {
	s := &server{mux: http.NewServeMux(), started: make(chan string, 16),
		cancelled: make(chan struct{}, 16), full: make(chan struct{})}
	s.mux.HandleFunc("GET /{$}", s.hello)
	s.mux.HandleFunc("GET /hello", s.hello)
	s.mux.HandleFunc("GET /fast", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("fast\n"))
	})
	s.mux.HandleFunc("GET /slow", s.slow)
	s.mux.HandleFunc("GET /wait", s.wait)
	s.mux.HandleFunc("GET /together", s.together)
	s.mux.HandleFunc("GET /big", s.big)
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// httpServer wraps s for one listener: HTTP/1.1 and h2c with prior
// knowledge in clear text, or HTTP/2 and HTTP/1.1 chosen by ALPN with TLS.
func (s *server) httpServer(ca *certs.CA) (*http.Server, error) {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		Protocols: new(http.Protocols),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		}}
	srv.Protocols.SetHTTP1(true)
	if ca == nil {
		srv.Protocols.SetUnencryptedHTTP2(true)
		return srv, nil
	}
	srv.Protocols.SetHTTP2(true)
	cfg, err := ca.ServerConfig()
	if err != nil {
		return nil, err
	}
	srv.TLSConfig = cfg
	return srv, nil
}

func (s *server) hello(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "hello over %s\n", r.Proto)
}

func (s *server) notify(path string) {
	select {
	case s.started <- path:
	default:
	}
}

// slow answers after ?ms= milliseconds (default 300).
func (s *server) slow(w http.ResponseWriter, r *http.Request) {
	d := 300 * time.Millisecond
	if ms, err := strconv.Atoi(r.URL.Query().Get("ms")); err == nil && ms >= 0 {
		d = min(time.Duration(ms)*time.Millisecond, maxSlow)
	}
	s.notify("/slow")
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		fmt.Fprintf(w, "slow, after %v\n", d)
	case <-r.Context().Done():
	}
}

// wait sends its headers and then waits until the client gives up.
func (s *server) wait(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
	s.notify("/wait")
	t := time.NewTimer(maxSlow)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		select {
		case s.cancelled <- struct{}{}:
		default:
		}
	case <-t.C:
	}
}

// together holds each request until ?n= of them run at once (or two
// seconds pass), then answers how many it saw together: proof that the
// requests were in flight at the same time, not one after another.
func (s *server) together(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 1 || n > maxTogether {
		http.Error(w, "n must be 1 to 1000", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.inflight++
	s.peak = max(s.peak, s.inflight)
	full := s.full
	if s.inflight >= n {
		close(s.full)
		s.full = make(chan struct{})
	}
	s.mu.Unlock()
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-full:
	case <-t.C:
	case <-r.Context().Done():
	}
	s.mu.Lock()
	peak := s.peak
	s.inflight--
	if s.inflight == 0 {
		s.peak = 0
	}
	s.mu.Unlock()
	fmt.Fprintf(w, "%d\n", peak)
}

// big sends ?kb= KiB (default 64) in 4 KiB writes, flushing each, and
// records the longest write: with a slow reader, a write waits for the
// flow-control window.
func (s *server) big(w http.ResponseWriter, r *http.Request) {
	kb := 64
	if v, err := strconv.Atoi(r.URL.Query().Get("kb")); err == nil && v > 0 {
		kb = min(v, maxBigKB)
	}
	w.Header().Set("Content-Length", strconv.Itoa(kb<<10))
	rc := http.NewResponseController(w)
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = 'a' + byte(i%26)
	}
	for sent := 0; sent < kb<<10; sent += chunk {
		start := time.Now()
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		d := int64(time.Since(start))
		for {
			old := s.blocked.Load()
			if d <= old || s.blocked.CompareAndSwap(old, d) {
				break
			}
		}
	}
}
