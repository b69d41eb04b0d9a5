package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/02-protocols/http1/h1"
	"backend-protocols/internal/timeline"
)

// config paces the demo's endpoints.
type config struct {
	Pieces   int           // pieces in /stream
	Interval time.Duration // between pieces of /stream
	Slow     time.Duration // how long /slow thinks
	Requests int           // requests in the keep-alive comparison
}

// server is the demo's HTTP/1.1 server: the h1 engine with a handler
// that answers any path with a short body, echoes POST bodies, streams
// /stream in chunks and makes /slow wait. It counts connections and
// remembers every request target it served.
type server struct {
	cfg   config
	tl    *timeline.Timeline
	h1    *h1.Server
	conns atomic.Int64

	mu     sync.Mutex
	served []string
}

func newServer(cfg config, tl *timeline.Timeline) *server {
	s := &server{cfg: cfg, tl: tl}
	s.h1 = &h1.Server{
		Handler: s.handle,
		ConnState: func(c net.Conn, st h1.ConnState) {
			if st == h1.StateNew {
				s.conns.Add(1)
			}
		},
		ErrorLog: func(remote string, err error) {
			tl.Note("server", "refused %s: %v", port(remote), err)
		},
	}
	return s
}

func (s *server) handle(w *h1.ResponseWriter, r *h1.Request) {
	s.mu.Lock()
	s.served = append(s.served, r.Method+" "+r.Target)
	s.mu.Unlock()
	s.tl.Note("server", "%s %s from %s", r.Method, r.Target, port(r.RemoteAddr))
	w.Header.Add("Content-Type", "text/plain; charset=utf-8")
	switch {
	case r.Method == "POST" || r.Method == "PUT":
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return // the server answers a bad body itself
		}
		w.Write(b)
	case r.Path() == "/stream":
		w.Header.Add("Trailer", "X-Pieces")
		for i := 1; i <= s.cfg.Pieces; i++ {
			if i > 1 {
				select {
				case <-time.After(s.cfg.Interval): // the pace of the stream
				case <-r.Context().Done():
					return
				}
			}
			fmt.Fprintf(w, "piece %d of %d\n", i, s.cfg.Pieces)
			w.Flush()
		}
		w.Trailer.Add("X-Pieces", strconv.Itoa(s.cfg.Pieces))
	case r.Path() == "/slow":
		time.Sleep(s.cfg.Slow) // the work that blocks the pipeline
		fmt.Fprintf(w, "slow answer after %v\n", s.cfg.Slow)
	default:
		fmt.Fprintf(w, "hello from h1, you asked for %s\n", r.Target)
	}
}

// servedTargets returns what the handler served, in order.
func (s *server) servedTargets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.served...)
}

// serve runs the server on ln until ctx is done, then shuts it down
// gracefully.
func (s *server) serve(ctx context.Context, ln net.Listener) error {
	return s.h1.ServeContext(ctx, ln, 5*time.Second)
}

// port shortens "127.0.0.1:54321" to ":54321": on loopback the port
// is what tells connections apart.
func port(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[i:]
	}
	return addr
}
