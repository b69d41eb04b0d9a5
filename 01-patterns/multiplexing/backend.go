package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"backend-protocols/internal/conntrack"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timing"
)

// maxWork bounds the work a request may ask for with ?ms=.
const maxWork = 10 * time.Second

// newBackend returns the web server every part of the demo talks to: it
// speaks HTTP/1.1 and, in clear text, HTTP/2 with prior knowledge (h2c),
// and counts connections and streams with tr. GET /asset?ms=N answers
// after N milliseconds of "work" (work if absent); /stats is tr's JSON.
func newBackend(tr *conntrack.Tracker, work time.Duration) *http.Server {
	app := http.NewServeMux()
	app.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "the page (%s); its assets are /asset?i=1..N\n", r.Proto)
	})
	app.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	app.HandleFunc("GET /asset", func(w http.ResponseWriter, r *http.Request) {
		d := work
		if s := r.URL.Query().Get("ms"); s != "" {
			ms, err := strconv.Atoi(s)
			if err != nil || ms < 0 || time.Duration(ms)*time.Millisecond > maxWork {
				http.Error(w, "ms: want 0.."+strconv.Itoa(int(maxWork.Milliseconds())),
					http.StatusBadRequest)
				return
			}
			d = time.Duration(ms) * time.Millisecond
		}
		if err := timing.Sleep(r.Context(), d); err != nil {
			return // the client went away
		}
		id, _ := conntrack.ConnID(r.Context())
		fmt.Fprintf(w, "asset %s over %s on connection %d\n",
			r.URL.Query().Get("i"), r.Proto, id)
	})
	mux := http.NewServeMux()
	mux.Handle("/", tr.Handler(app))
	mux.Handle("/stats", tr)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	h2c(srv)
	tr.Install(srv)
	return srv
}

// h2c makes srv speak HTTP/1.1 and HTTP/2 with prior knowledge in clear
// text (RFC 9113 section 3.3).
func h2c(srv *http.Server) {
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
}

// serve runs the backend on ln until ctx is done.
func serve(ctx context.Context, ln net.Listener, work time.Duration) error {
	return demo.ServeHTTP(ctx, newBackend(conntrack.New(), work), ln)
}

// waitFor polls cond every millisecond until it holds or ctx is done.
func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		if err := timing.Sleep(ctx, time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}
