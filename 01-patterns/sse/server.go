package main

import (
	"context"
	_ "embed"
	"io"
	"net"
	"net/http"
	"time"

	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

//go:embed page.html
var page []byte

// maxReport bounds a browser's report body.
const maxReport = 64 << 10

// newMux serves the page, the stream and the stats. If reports is not nil,
// POST /report delivers a browser's report of what it received (the
// headless-browser test uses it).
func newMux(h *hub, reports chan<- []byte) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.HandleFunc("GET /stream", h.stream)
	mux.HandleFunc("GET /stats", h.stats)
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		if reports == nil {
			http.NotFound(w, r)
			return
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReport))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		select {
		case reports <- b:
		default:
		}
	})
	return mux
}

// newServer returns an HTTP server for the hub speaking HTTP/1.1 and, in
// clear text, HTTP/2 with prior knowledge (h2c); with tls it speaks
// HTTP/2 and HTTP/1.1 over TLS, chosen by ALPN.
func newServer(h *hub, reports chan<- []byte, ca *certs.CA) (*http.Server, error) {
	srv := &http.Server{Handler: newMux(h, reports), ReadHeaderTimeout: 10 * time.Second}
	if ca != nil {
		cfg, err := ca.ServerConfig()
		if err != nil {
			return nil, err
		}
		srv.TLSConfig = cfg
		return srv, nil
	}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	return srv, nil
}

// serve runs the event server on ln until ctx is done.
func serve(ctx context.Context, ln net.Listener, tl *timeline.Timeline, cfg config, ca *certs.CA) error {
	h := newHub(cfg, tl)
	defer h.close()
	srv, err := newServer(h, nil, ca)
	if err != nil {
		return err
	}
	return demo.ServeHTTP(ctx, srv, ln)
}
