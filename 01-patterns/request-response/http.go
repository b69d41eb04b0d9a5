package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// maxBody bounds what the server reads of a request body.
const maxBody = 1 << 10

// sumHandler answers POST /sum with {"a":2,"b":3} -> {"sum":5}.
func sumHandler(w http.ResponseWriter, r *http.Request) {
	var in struct{ A, B int64 }
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		http.Error(w, "want a JSON body like {\"a\":2,\"b\":3}: "+err.Error(),
			http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"sum\":%d}\n", in.A+in.B)
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sum", sumHandler)
	return mux
}

func serveHTTP(ctx context.Context, ln net.Listener) error {
	return demo.ServeHTTP(ctx, &http.Server{Handler: newMux(),
		ReadHeaderTimeout: 10 * time.Second}, ln)
}

// wireTap records the bytes a client connection writes and reads.
type wireTap struct {
	net.Conn
	mu      sync.Mutex
	out, in bytes.Buffer
}

func (t *wireTap) Write(b []byte) (int, error) {
	n, err := t.Conn.Write(b)
	t.mu.Lock()
	t.out.Write(b[:n])
	t.mu.Unlock()
	return n, err
}

func (t *wireTap) Read(b []byte) (int, error) {
	n, err := t.Conn.Read(b)
	t.mu.Lock()
	t.in.Write(b[:n])
	t.mu.Unlock()
	return n, err
}

// take returns and clears what was written and read so far.
func (t *wireTap) take() (out, in []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out, in = bytes.Clone(t.out.Bytes()), bytes.Clone(t.in.Bytes())
	t.out.Reset()
	t.in.Reset()
	return out, in
}

// phase is one measured step of an exchange, since the request started.
type phase struct {
	Name string
	At   time.Duration
}

// exchange is what one HTTP request-response measured.
type exchange struct {
	Request, Response []byte // exactly as on the wire
	Phases            []phase
	Reused            bool // the connection was kept alive from before
	Body              string
}

// phaseAt returns when the named phase happened, or -1.
func (e exchange) phaseAt(name string) time.Duration {
	for _, p := range e.Phases {
		if p.Name == name {
			return p.At
		}
	}
	return -1
}

// client is an HTTP client whose single connection is tapped.
type client struct {
	hc  *http.Client
	mu  sync.Mutex
	tap *wireTap
}

func newClient() *client {
	c := &client{}
	tr := &http.Transport{
		MaxConnsPerHost: 1,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			t := &wireTap{Conn: conn}
			c.mu.Lock()
			c.tap = t
			c.mu.Unlock()
			return t, nil
		},
	}
	c.hc = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	return c
}

// do sends one POST /sum and measures its phases with httptrace.
func (c *client) do(ctx context.Context, base, body string) (exchange, error) {
	var ex exchange
	var mu sync.Mutex // trace hooks run on the transport's goroutines
	start := time.Now()
	mark := func(name string) {
		mu.Lock()
		ex.Phases = append(ex.Phases, phase{name, time.Since(start)})
		mu.Unlock()
	}
	trace := &httptrace.ClientTrace{
		ConnectStart: func(string, string) { mark("connect start") },
		ConnectDone:  func(string, string, error) { mark("connected") },
		GotConn: func(info httptrace.GotConnInfo) {
			mu.Lock()
			ex.Reused = info.Reused
			mu.Unlock()
			mark("got connection")
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { mark("request written") },
		GotFirstResponseByte: func() { mark("first response byte") },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace),
		http.MethodPost, base+"/sum", strings.NewReader(body))
	if err != nil {
		return ex, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return ex, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return ex, err
	}
	mark("response read")
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusOK {
		return ex, fmt.Errorf("POST /sum: %s: %s", resp.Status, b)
	}
	ex.Body = string(b)
	c.mu.Lock()
	ex.Request, ex.Response = c.tap.take()
	c.mu.Unlock()
	return ex, nil
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// exchangeHTTP makes two requests on one kept-alive connection and prints
// the bytes and phases of each.
func exchangeHTTP(ctx context.Context, tl *timeline.Timeline, base string) ([]exchange, error) {
	c := newClient()
	defer c.close()
	var out []exchange
	for i, body := range []string{`{"a":2,"b":3}`, `{"a":40,"b":2}`} {
		tl.Send("client", "server", "POST /sum %s", body)
		ex, err := c.do(ctx, base, body)
		if err != nil {
			return out, err
		}
		tl.Send("server", "client", "200 %s", strings.TrimSpace(ex.Body))
		tl.Dump(fmt.Sprintf("request %d as sent", i+1), ex.Request)
		tl.Dump(fmt.Sprintf("response %d as received", i+1), ex.Response)
		reuse := "a new connection"
		if ex.Reused {
			reuse = "the kept-alive connection: no connect phase"
		}
		tl.Printf("phases of request %d, on %s:", i+1, reuse)
		for _, p := range ex.Phases {
			tl.Printf("  %-22s +%v", p.Name, p.At.Round(time.Microsecond))
		}
		tl.Printf("")
		out = append(out, ex)
	}
	return out, nil
}

// httpScenario serves POST /sum on loopback and exchanges with it.
func httpScenario(ctx context.Context, tl *timeline.Timeline) ([]exchange, error) {
	tl.Printf("== request-response over HTTP/1.1")
	srv, err := demo.StartHTTP(ctx, &http.Server{Handler: newMux()}, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	tl.Note("server", "listening on %s", srv.Addr)
	return exchangeHTTP(ctx, tl, srv.URL)
}
