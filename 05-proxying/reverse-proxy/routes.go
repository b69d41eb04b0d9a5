package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/net/websocket"

	"backend-protocols/05-proxying/lb"
)

// backendRoutes adds what the reverse-proxy scenes need on top of the
// named backend:
//
//	/cached?max-age=N   a page with Cache-Control: max-age=N and a render count
//	/events?n=3&every=100ms   a text/event-stream of n events
//	/ws                 a WebSocket echo that prefixes its name
func backendRoutes(b *lb.Backend, mux *http.ServeMux) {
	var renders atomic.Int64
	mux.HandleFunc("/cached", func(w http.ResponseWriter, r *http.Request) {
		age, err := strconv.Atoi(r.URL.Query().Get("max-age"))
		if err != nil || age < 0 {
			age = 1
		}
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", age))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s render #%d\n", b.Name, renders.Add(1))
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, err := strconv.Atoi(q.Get("n"))
		if err != nil || n <= 0 || n > 1000 {
			n = 3
		}
		every, err := time.ParseDuration(q.Get("every"))
		if err != nil || every <= 0 || every > time.Minute {
			every = time.Second
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		rc := http.NewResponseController(w)
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 1; i <= n; i++ {
			fmt.Fprintf(w, "id: %d\ndata: %s event %d\n\n", i, b.Name, i)
			if err := rc.Flush(); err != nil {
				return
			}
			if i == n {
				return
			}
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.Handle("/ws", websocket.Handler(func(ws *websocket.Conn) {
		buf := make([]byte, 4096)
		for {
			n, err := ws.Read(buf)
			if err != nil {
				return
			}
			if _, err := io.WriteString(ws, b.Name+" echoes: "+string(buf[:n])); err != nil {
				return
			}
		}
	}))
}
