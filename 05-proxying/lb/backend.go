package lb

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/internal/timing"
)

// BackendOptions configure StartBackend. The zero value serves plain
// HTTP/1.1 on a fresh loopback port.
type BackendOptions struct {
	// Addr is where to listen; "127.0.0.1:0" if empty.
	Addr string
	// TLS, if set, makes the backend serve HTTPS (and HTTP/2 when its
	// NextProtos offer h2).
	TLS *tls.Config
	// Routes, if set, adds handlers to the backend's mux before it starts,
	// for what only one demo needs (a WebSocket echo, a cacheable page).
	Routes func(b *Backend, mux *http.ServeMux)
}

// Backend is a named HTTP server. Every answer carries an X-Backend header
// with its name, and a plain GET of any path not listed below answers with
// the name alone, so a client sees where each request landed:
//
//	/               "b1\n"
//	/healthz        200 "ok", or 503 while SetSick(true)
//	/headers        the request as this backend received it, line by line
//	/slow?for=1s    waits that long (or until the client leaves), then "b1"
//	/bulk?bytes=N   N zero bytes with a Content-Length, for throughput
//
// A Backend can be stopped and started again on the same address, made
// sick (its health check fails, its other answers do not) and made to
// reset every request's connection, so the proxies' failure handling can
// be shown on cue.
type Backend struct {
	Name string
	Addr string // host:port; the same across Stop and Start

	opts  BackendOptions
	mux   *http.ServeMux
	hits  atomic.Int64
	conns atomic.Int64
	sick  atomic.Bool
	reset atomic.Bool

	mu   sync.Mutex
	srv  *http.Server
	done chan struct{}
	last Seen
}

// Seen is a request as a backend received it.
type Seen struct {
	Method, Target, Proto string
	Host, RemoteAddr      string
	Header                http.Header
}

// MaxBulk bounds /bulk so that a typo cannot ask for an endless answer.
const MaxBulk = 1 << 40

// StartBackend starts a backend called name and returns once it listens.
func StartBackend(name string, o BackendOptions) (*Backend, error) {
	b := &Backend{Name: name, Addr: o.Addr, opts: o, mux: http.NewServeMux()}
	if b.Addr == "" {
		b.Addr = "127.0.0.1:0"
	}
	b.mux.HandleFunc("/healthz", b.healthz)
	b.mux.HandleFunc("/headers", b.headers)
	b.mux.HandleFunc("/slow", b.slow)
	b.mux.HandleFunc("/bulk", b.bulk)
	b.mux.HandleFunc("/", b.name)
	if o.Routes != nil {
		o.Routes(b, b.mux)
	}
	if err := b.Start(); err != nil {
		return nil, err
	}
	return b, nil
}

// URL returns http://Addr or https://Addr.
func (b *Backend) URL() string {
	if b.opts.TLS != nil {
		return "https://" + b.Addr
	}
	return "http://" + b.Addr
}

// Start listens again on Addr after Stop (the first start is done by
// StartBackend). It is a no-op while the backend runs.
func (b *Backend) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", b.Addr)
	if err != nil {
		return fmt.Errorf("backend %s: %w", b.Name, err)
	}
	b.Addr = ln.Addr().String()
	srv := &http.Server{
		Handler:           b,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		// Clients that hang up mid-handshake are part of the story, not
		// errors worth a line on stderr.
		ErrorLog: log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				b.conns.Add(1)
			}
		},
	}
	if b.opts.TLS != nil {
		srv.TLSConfig = b.opts.TLS.Clone()
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	b.srv, b.done = srv, done
	return nil
}

// Stop closes the listener and every connection at once, as a crashed or
// killed backend would, and returns when the server has stopped.
func (b *Backend) Stop() error {
	b.mu.Lock()
	srv, done := b.srv, b.done
	b.srv = nil
	b.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	<-done
	return err
}

// Close is Stop, for defer and t.Cleanup.
func (b *Backend) Close() error { return b.Stop() }

// Running reports whether the backend is serving.
func (b *Backend) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.srv != nil
}

// SetSick makes /healthz answer 503 (true) or 200 (false); the other paths
// keep working, as in a backend whose dependency is down.
func (b *Backend) SetSick(sick bool) { b.sick.Store(sick) }

// SetReset makes every request but /healthz end in a TCP reset before any
// response is sent, as a backend crashing mid-request would.
func (b *Backend) SetReset(reset bool) { b.reset.Store(reset) }

// Hits counts requests served, health checks excluded.
func (b *Backend) Hits() int64 { return b.hits.Load() }

// Conns counts TCP connections accepted since the backend was made.
func (b *Backend) Conns() int64 { return b.conns.Load() }

// Last returns the last request served, health checks excluded.
func (b *Backend) Last() Seen {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.last
	s.Header = s.Header.Clone()
	return s
}

// ServeHTTP records the request and hands it to the mux.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Backend", b.Name)
	if r.URL.Path == "/healthz" {
		b.mux.ServeHTTP(w, r)
		return
	}
	if b.reset.Load() {
		resetConn(w)
		return
	}
	b.hits.Add(1)
	b.mu.Lock()
	b.last = Seen{Method: r.Method, Target: r.RequestURI, Proto: r.Proto,
		Host: r.Host, RemoteAddr: r.RemoteAddr, Header: r.Header.Clone()}
	b.mu.Unlock()
	b.mux.ServeHTTP(w, r)
}

// resetConn ends the request's connection with a TCP RST: SO_LINGER 0 makes
// close(2) discard unsent data and send RST instead of FIN. HTTP/2 streams
// cannot be hijacked; aborting the handler resets the stream instead.
func resetConn(w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	} else if tlc, ok := c.(*tls.Conn); ok {
		if tc, ok := tlc.NetConn().(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	c.Close()
}

func (b *Backend) healthz(w http.ResponseWriter, _ *http.Request) {
	if b.sick.Load() {
		http.Error(w, "sick", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

func (b *Backend) name(w http.ResponseWriter, r *http.Request) {
	// Drain a request body (a POST) so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, b.Name+"\n")
}

// headers writes the request line and header fields as received, sorted,
// with the peer's address: what a proxy in front added or removed is
// visible in one read.
func (b *Backend) headers(w http.ResponseWriter, r *http.Request) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s %s\n", r.Method, r.RequestURI, r.Proto)
	fmt.Fprintf(&sb, "Host: %s\n", r.Host)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&sb, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintf(&sb, "(from %s)\n", r.RemoteAddr)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, sb.String())
}

func (b *Backend) slow(w http.ResponseWriter, r *http.Request) {
	d := time.Second
	if s := r.URL.Query().Get("for"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 || v > time.Hour {
			http.Error(w, "bad duration", http.StatusBadRequest)
			return
		}
		d = v
	}
	if timing.Sleep(r.Context(), d) == nil {
		io.WriteString(w, b.Name+"\n")
	}
}

// bulkChunk is what /bulk writes per call: large writes mean few
// syscalls, so the transfer measures the path, not the server.
var bulkChunk = make([]byte, 256<<10)

func (b *Backend) bulk(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
	if err != nil || n < 0 || n > MaxBulk {
		http.Error(w, "want ?bytes=N", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	for n > 0 {
		k, err := w.Write(bulkChunk[:min(n, int64(len(bulkChunk)))])
		if err != nil {
			return
		}
		n -= int64(k)
	}
}
