package main

import (
	"context"
	_ "embed"
	"net"
	"net/http"

	"backend-protocols/02-protocols/websockets/ws"
	"backend-protocols/internal/demo"
)

//go:embed chat.html
var page []byte

// maxMessage bounds a chat message; longer ones close the sender with 1009.
const maxMessage = 4 << 10

// newMux serves the page at / and the chat's WebSocket at /ws, on
// net/http: the ws engine's Accept hijacks the connection from it.
func newMux(h *hub) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, &ws.AcceptOptions{
			Options: ws.Options{MaxMessageSize: maxMessage}})
		if err != nil {
			return // Accept answered the refusal
		}
		h.serve(c)
	})
	return mux
}

// serve runs the chat on ln until ctx is done, then says goodbye to
// every client and shuts down.
func serve(ctx context.Context, ln net.Listener, h *hub) error {
	defer h.close()
	return demo.ServeHTTP(ctx, &http.Server{Handler: newMux(h)}, ln)
}
