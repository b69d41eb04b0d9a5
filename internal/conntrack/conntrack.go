// Package conntrack counts what an HTTP server sees, connection by
// connection: how many TCP connections it accepted, how many requests (on
// HTTP/2, streams) each one carried, and how many requests it handled at
// once. Demos use it to show multiplexing and connection reuse with
// numbers the server measured, not numbers the client assumed.
//
// Each accepted connection gets an ID that rides in the request context
// (http.Server.ConnContext), so a request is counted against the
// connection that really carried it, whatever the protocol:
//
//	tr := conntrack.New()
//	mux := http.NewServeMux()
//	mux.Handle("/", tr.Handler(app)) // counted
//	mux.Handle("/stats", tr)         // the totals as JSON; not counted
//	srv := &http.Server{Handler: mux}
//	tr.Install(srv)
//	...
//	st := tr.Stats() // st.Accepted, st.Used, st.Requests, st.Streams
package conntrack

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
)

// keepClosed bounds how many closed connections a Tracker remembers for
// Conns; the totals in Stats stay exact however many there were.
const keepClosed = 4096

// Conn is what the server saw on one connection.
type Conn struct {
	ID       int    `json:"id"`
	Remote   string `json:"remote"`   // the client's address
	Proto    string `json:"proto"`    // of its last request; "" if none
	Requests int    `json:"requests"` // requests (HTTP/2: streams) carried
	Open     bool   `json:"open"`
}

// Stats are a Tracker's totals since it was made or last Reset.
type Stats struct {
	Accepted    int `json:"accepted"`      // connections accepted
	Used        int `json:"used"`          // of those, connections that carried a request
	Open        int `json:"open"`          // connections open now
	Requests    int `json:"requests"`      // requests, all protocols
	Streams     int `json:"streams"`       // requests that came as HTTP/2 streams
	InFlight    int `json:"in_flight"`     // requests being handled now
	MaxInFlight int `json:"max_in_flight"` // most requests handled at once
}

type entry struct {
	Conn
	nc net.Conn
}

// Tracker counts connections and requests for one http.Server. Its
// methods are safe for concurrent use.
type Tracker struct {
	mu     sync.Mutex
	next   int
	open   map[int]*entry
	closed []Conn // most recent last, at most keepClosed
	st     Stats
}

// New returns an empty Tracker.
func New() *Tracker { return &Tracker{open: make(map[int]*entry)} }

type ctxKey struct{}

// ConnID returns the ID of the connection that carried the request whose
// context this is, if the server has a Tracker installed.
func ConnID(ctx context.Context) (int, bool) {
	id, ok := ctx.Value(ctxKey{}).(int)
	return id, ok
}

// Install makes srv report its connections to t: it sets srv.ConnContext
// and srv.ConnState, calling any that were already set. Requests are
// counted only by handlers wrapped with Handler, so a /stats endpoint
// need not count itself.
func (t *Tracker) Install(srv *http.Server) {
	prevCtx, prevState := srv.ConnContext, srv.ConnState
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prevCtx != nil {
			ctx = prevCtx(ctx, c)
		}
		return context.WithValue(ctx, ctxKey{}, t.accept(c))
	}
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateClosed || s == http.StateHijacked {
			t.gone(c)
		}
		if prevState != nil {
			prevState(c, s)
		}
	}
}

func (t *Tracker) accept(c net.Conn) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	t.st.Accepted++
	t.st.Open++
	t.open[t.next] = &entry{Conn: Conn{ID: t.next,
		Remote: c.RemoteAddr().String(), Open: true}, nc: c}
	return t.next
}

func (t *Tracker) gone(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, e := range t.open {
		if e.nc != c {
			continue
		}
		delete(t.open, id)
		t.st.Open--
		e.Open = false
		if len(t.closed) == keepClosed {
			t.closed = slices.Delete(t.closed, 0, keepClosed/2)
		}
		t.closed = append(t.closed, e.Conn)
		return
	}
}

// Handler counts every request h serves against the connection that
// carried it (the server must have t installed).
func (t *Tracker) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.begin(r)
		defer t.end()
		h.ServeHTTP(w, r)
	})
}

func (t *Tracker) begin(r *http.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Requests++
	if r.ProtoMajor == 2 {
		t.st.Streams++
	}
	t.st.InFlight++
	t.st.MaxInFlight = max(t.st.MaxInFlight, t.st.InFlight)
	id, _ := ConnID(r.Context())
	if e := t.open[id]; e != nil {
		if e.Requests == 0 {
			t.st.Used++
		}
		e.Requests++
		e.Proto = r.Proto
	}
}

func (t *Tracker) end() {
	t.mu.Lock()
	t.st.InFlight--
	t.mu.Unlock()
}

// Stats returns the totals.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st
}

// Conns returns the connections accepted since the last Reset, closed ones
// included (the most recent keepClosed of them), ordered by ID.
func (t *Tracker) Conns() []Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := slices.Clone(t.closed)
	for _, e := range t.open {
		out = append(out, e.Conn)
	}
	slices.SortFunc(out, func(a, b Conn) int { return a.ID - b.ID })
	return out
}

// PerConn returns how many requests each connection that carried any
// carried, in connection order: [5 5 5 5 5 5] for 30 requests over six.
func (t *Tracker) PerConn() []int {
	var out []int
	for _, c := range t.Conns() {
		if c.Requests > 0 {
			out = append(out, c.Requests)
		}
	}
	return out
}

// Reset zeroes the totals and forgets closed connections. Connections
// still open stay known, with their request counts zeroed, so requests
// they carry later are counted; they do not count as accepted again.
func (t *Tracker) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = nil
	t.st = Stats{Open: len(t.open), InFlight: t.st.InFlight,
		MaxInFlight: t.st.InFlight}
	for _, e := range t.open {
		e.Requests, e.Proto = 0, ""
	}
}

// ErrNoConn is returned by Kill when no open connection has that address.
var ErrNoConn = errors.New("conntrack: no open connection from that address")

// Kill resets the open connection whose client address is remote, as a
// crashed peer or a middlebox would: the socket is closed with SO_LINGER
// 0, so the kernel sends RST and the client's next read fails with
// "connection reset by peer".
func (t *Tracker) Kill(remote string) error {
	t.mu.Lock()
	var nc net.Conn
	for _, e := range t.open {
		if e.Remote == remote {
			nc = e.nc
		}
	}
	t.mu.Unlock()
	if nc == nil {
		return fmt.Errorf("%w: %s", ErrNoConn, remote)
	}
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		if err := tc.SetLinger(0); err != nil {
			return err
		}
	}
	return nc.Close()
}

// ServeHTTP writes the totals and the connections as JSON, for a demo's
// /stats endpoint; POST resets them after writing.
func (t *Tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Stats
		Conns []Conn `json:"conns"`
	}{t.Stats(), t.Conns()})
	if r.Method == http.MethodPost {
		t.Reset()
	}
}
