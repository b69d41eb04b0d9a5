package main

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

var quietLog = log.New(io.Discard, "", 0)

// serve runs the proxy on ln in front of three backends of its own until
// ctx is done, printing a line per request. With useTLS and no ca, it
// makes a CA and writes its certificate where curl can find it.
func serve(ctx context.Context, ln net.Listener, tl *timeline.Timeline, cfg config,
	useTLS bool, ca *certs.CA) error {
	defer ln.Close()
	if useTLS && ca == nil {
		var err error
		if ca, err = lb.ServeCA(tl, "proxy", "reverse-proxy-ca.pem"); err != nil {
			return err
		}
	}
	if !useTLS {
		ca = nil
	}
	s, err := build(ca, cfg.Timeout, tl)
	if err != nil {
		return err
	}
	defer s.close()
	for _, b := range s.bs {
		tl.Note(b.Name, "listening on %s", b.URL())
	}
	next := s.server.Handler
	s.server.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lw := &logWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(lw, r)
		tl.Note("proxy", "%s %s %s -> %s %d %s", r.Proto, r.Method, r.URL.RequestURI(),
			lw.Header().Get("X-Backend"), lw.status, lw.Header().Get("X-Cache"))
	})
	scheme := "http"
	if ca != nil {
		scheme = "https"
	}
	tl.Note("proxy", "listening on %s://%s", scheme, ln.Addr())
	return demo.ServeHTTP(ctx, s.server, ln)
}

// logWriter remembers the status a handler sent.
type logWriter struct {
	http.ResponseWriter
	status int
}

func (l *logWriter) WriteHeader(code int) {
	if code >= 200 {
		l.status = code
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *logWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }
