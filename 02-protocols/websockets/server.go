package main

import (
	"context"
	_ "embed"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"backend-protocols/02-protocols/http1/h1"
	"backend-protocols/02-protocols/websockets/ws"
	"backend-protocols/internal/timeline"
)

//go:embed echo.html
var page []byte

// server is the echo: the hand-written HTTP/1.1 server (h1) carrying the
// hand-written WebSocket engine (ws) at /echo, and a page at /.
type server struct {
	tl    *timeline.Timeline
	trace bool // print every frame the server sees and sends
	// onEnd, if set, gets each connection's final error: the close.
	onEnd func(remote string, err error)
	// onMessage, if set, sees each message before it is echoed.
	onMessage func(remote string, typ ws.Opcode, msg []byte)
	opts      ws.Options
	h1        *h1.Server

	mu   sync.Mutex
	live map[*ws.Conn]bool
}

func newServer(tl *timeline.Timeline) *server {
	s := &server{tl: tl, opts: ws.Options{MaxMessageSize: 1 << 20},
		live: map[*ws.Conn]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.HandleFunc("/echo", s.echo)
	s.h1 = &h1.Server{Handler: h1.Adapt(mux)}
	return s
}

// echo upgrades the request and sends every message back unchanged.
func (s *server) echo(w http.ResponseWriter, r *http.Request) {
	opts := &ws.AcceptOptions{Options: s.opts}
	who := port(r.RemoteAddr)
	if s.trace {
		opts.Trace = func(sent bool, h ws.Header, p []byte) {
			from, to := who, "server"
			if sent {
				from, to = to, from
			}
			s.tl.Send(from, to, "%s", describe(h, p))
		}
	}
	c, err := ws.Accept(w, r, opts)
	if err != nil {
		s.tl.Note("server", "refused %s: %v", who, err)
		return
	}
	s.tl.Note("server", "%s upgraded to WebSocket", who)
	s.mu.Lock()
	s.live[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.live, c)
		s.mu.Unlock()
	}()
	for {
		typ, msg, err := c.ReadMessage()
		if err == nil && s.onMessage != nil {
			s.onMessage(who, typ, msg)
		}
		if err == nil {
			err = c.WriteMessage(typ, msg)
		}
		if err != nil {
			s.tl.Note("server", "%s ended: %v", who, err)
			if s.onEnd != nil {
				s.onEnd(who, err)
			}
			c.NetConn().Close()
			return
		}
	}
}

// describe prints a frame the way the narrative shows it.
func describe(h ws.Header, p []byte) string {
	mask := "mask=0"
	if h.Masked {
		mask = fmt.Sprintf("mask=1 key=%x", h.Mask)
	}
	s := fmt.Sprintf("%-6v fin=%d rsv=%d %s len=%d", h.Op, b2i(h.Fin), h.RSV, mask, h.Length)
	switch {
	case h.Op == ws.OpClose && len(p) >= 2:
		s += fmt.Sprintf(" code=%d %q", int(p[0])<<8|int(p[1]), p[2:])
	case h.Op == ws.OpBinary || h.Op == ws.OpContinuation && !isText(p):
		s += fmt.Sprintf(" % x", p[:min(len(p), 8)])
		if len(p) > 8 {
			s += " ..."
		}
	case len(p) > 0:
		s += fmt.Sprintf(" %q", trim(string(p), 40))
	}
	return s
}

func isText(p []byte) bool {
	for _, c := range p {
		if c < 0x20 {
			return false
		}
	}
	return true
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// serve runs until ctx is done, then shuts down. The WebSockets were
// hijacked and are no longer the HTTP server's: they are closed here,
// politely, with 1001.
func (s *server) serve(ctx context.Context, ln net.Listener) error {
	err := s.h1.ServeContext(ctx, ln, 5*time.Second)
	var wg sync.WaitGroup
	s.mu.Lock()
	for c := range s.live {
		wg.Go(func() { c.Close(ws.CloseGoingAway, "server shutting down") })
	}
	s.mu.Unlock()
	wg.Wait()
	return err
}

func port(addr string) string {
	if _, p, err := net.SplitHostPort(addr); err == nil {
		return ":" + p
	}
	return addr
}
