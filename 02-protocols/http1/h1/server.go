package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// Handler answers one request. It must not keep w or r after it returns.
type Handler func(w *ResponseWriter, r *Request)

// Default timeouts, used where a Server's field is zero.
const (
	DefaultHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout   = 30 * time.Second
	DefaultWriteTimeout  = 30 * time.Second
	DefaultIdleTimeout   = 60 * time.Second
)

// maxDrain is how much of a body the handler left unread the server
// reads and drops to keep the connection; beyond it, it closes instead.
const maxDrain = 256 << 10

// lingerTime bounds how long a closing connection keeps reading what the
// client already sent, so the client reads the response before a reset.
const lingerTime = 500 * time.Millisecond

// Server serves HTTP/1.1 on a listener: one goroutine per connection,
// requests read one after another, each answered before the next is read,
// so pipelined responses leave in request order.
//
// Deadlines keep slow clients from holding a connection for free:
// HeaderTimeout runs from a request's first byte (or from accept, for the
// first request) to the end of its head, so a client trickling its
// header (slow loris) is cut off; BodyTimeout bounds reading the body,
// WriteTimeout writing the response, IdleTimeout the wait between
// requests. Each connection has its own deadlines, so one slow client
// never delays another.
type Server struct {
	Handler Handler
	Limits  Limits

	HeaderTimeout time.Duration // 0 means DefaultHeaderTimeout
	BodyTimeout   time.Duration // 0 means DefaultBodyTimeout
	WriteTimeout  time.Duration // 0 means DefaultWriteTimeout
	IdleTimeout   time.Duration // 0 means DefaultIdleTimeout

	// ConnState, if set, is called when a connection changes state.
	ConnState func(net.Conn, ConnState)
	// ErrorLog, if set, receives refused requests (with the peer's
	// address), handler panics and accept errors.
	ErrorLog func(remote string, err error)

	date dateCache

	mu       sync.Mutex
	lns      map[net.Listener]struct{}
	conns    map[*conn]ConnState
	shutdown bool
	base     context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// ConnState is where a connection is in its life.
type ConnState int

const (
	StateNew      ConnState = iota // accepted, no request yet
	StateActive                    // reading or answering a request
	StateIdle                      // between requests on keep-alive
	StateHijacked                  // handed to a handler; no longer ours
	StateClosed                    // closed
)

var stateNames = [...]string{"new", "active", "idle", "hijacked", "closed"}

func (s ConnState) String() string { return stateNames[s] }

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("h1: server closed")

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func (s *Server) init() {
	if s.conns == nil {
		s.lns = map[net.Listener]struct{}{}
		s.conns = map[*conn]ConnState{}
		s.base, s.cancel = context.WithCancel(context.Background())
	}
}

// Serve accepts connections on ln and serves each in its own goroutine
// until Shutdown or Close, then returns ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.init()
	if s.shutdown {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shuttingDown() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait, retry.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logf(ln.Addr().String(), fmt.Errorf("accept: %w; retrying", err))
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(nc)
		if c == nil {
			nc.Close()
			return ErrServerClosed
		}
		s.wg.Add(1)
		go c.serve()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (s *Server) newConn(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return nil
	}
	c := &conn{srv: s, nc: nc, bw: bufio.NewWriterSize(nc, bufSize),
		remote: nc.RemoteAddr().String()}
	c.r = NewReader(nc, s.Limits)
	s.conns[c] = StateNew
	if s.ConnState != nil {
		s.ConnState(nc, StateNew)
	}
	return c
}

// setState records a connection's state; it reports false if the server
// is shutting down and the connection should close instead of going
// idle or active.
func (s *Server) setState(c *conn, st ConnState) bool {
	s.mu.Lock()
	ok := !s.shutdown || st == StateClosed || st == StateHijacked
	if st == StateClosed || st == StateHijacked {
		delete(s.conns, c)
	} else {
		s.conns[c] = st
	}
	s.mu.Unlock()
	if s.ConnState != nil {
		s.ConnState(c.nc, st)
	}
	return ok
}

func (s *Server) shuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

func (s *Server) logf(remote string, err error) {
	if s.ErrorLog != nil {
		s.ErrorLog(remote, err)
	}
}

// Shutdown stops accepting, closes idle connections, cancels the context
// of running requests (so streams and held polls end), lets each active
// connection finish its current response and close, and waits for them
// until ctx is done; then it closes what is left and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.init()
	s.shutdown = true
	for ln := range s.lns {
		ln.Close()
	}
	s.mu.Unlock()
	s.cancel() // long-lived handlers (streams) watch their request's context
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		for c, st := range s.conns {
			if st == StateIdle || st == StateNew {
				c.nc.Close()
			}
		}
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			s.wg.Wait()
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// ServeContext serves on ln until ctx is done, then shuts down as
// Shutdown does, giving active requests up to grace to finish. It
// returns nil after a clean shutdown.
func (s *Server) ServeContext(ctx context.Context, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := s.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, ErrServerClosed) {
		return serr
	}
	return err
}

// Close closes the listeners and every connection at once, and cancels
// the context of every request still running.
func (s *Server) Close() error {
	s.mu.Lock()
	s.init()
	s.shutdown = true
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// conn is one client connection.
type conn struct {
	srv    *Server
	nc     net.Conn
	remote string // the peer's address, formatted once
	r      *Reader
	bw     *bufio.Writer
	w      ResponseWriter
}

func (c *conn) serve() {
	s := c.srv
	defer func() {
		if !c.w.hijacked {
			c.nc.Close()
			s.setState(c, StateClosed)
			s.wg.Done()
		}
	}()
	header := orDefault(s.HeaderTimeout, DefaultHeaderTimeout)
	// The first request's header deadline runs from accept.
	c.nc.SetReadDeadline(time.Now().Add(header))
	for first := true; ; first = false {
		if !first {
			// Wait for the next request's first byte, then give it the
			// header timeout from there.
			idle := orDefault(s.IdleTimeout, DefaultIdleTimeout)
			c.nc.SetReadDeadline(time.Now().Add(idle))
			if _, err := c.r.br.Peek(1); err != nil {
				return
			}
			c.nc.SetReadDeadline(time.Now().Add(header))
		}
		if !s.setState(c, StateActive) {
			return
		}
		req, err := c.r.ReadRequest()
		if err != nil {
			c.refuse(err)
			return
		}
		req.RemoteAddr = c.remote
		req.ctx = s.base
		now := time.Now()
		c.nc.SetReadDeadline(deadline(now, s.BodyTimeout, DefaultBodyTimeout))
		c.nc.SetWriteDeadline(deadline(now, s.WriteTimeout, DefaultWriteTimeout))
		w := &c.w
		w.reset(c, req)
		if req.expect100 {
			req.body.cont = w
		}
		c.run(w, req)
		if w.hijacked {
			return
		}
		if req.body.err != nil && req.body.err != io.EOF && !w.headSent {
			// The handler met a bad body and answered nothing.
			w.wroteHeader = false
			w.WriteHeader(StatusOf(req.body.err))
			w.closeAfter = true
		}
		if err := w.finish(); err != nil {
			return
		}
		unread := req.body.kind != bodyNone && req.body.err != io.EOF
		if w.closeAfter {
			if unread || c.r.Buffered() > 0 {
				c.linger()
			}
			return
		}
		c.nc.SetReadDeadline(time.Now().Add(header))
		if !req.body.drain(maxDrain) {
			c.linger()
			return
		}
		if !s.setState(c, StateIdle) {
			return
		}
	}
}

func deadline(now time.Time, d, def time.Duration) time.Time {
	d = orDefault(d, def)
	if d < 0 {
		return time.Time{}
	}
	return now.Add(d)
}

// run calls the handler; a panic answers 500 and closes the connection
// rather than taking the server down.
func (c *conn) run(w *ResponseWriter, req *Request) {
	defer func() {
		if p := recover(); p != nil {
			c.srv.logf(req.RemoteAddr,
				fmt.Errorf("handler panic: %v\n%s", p, debug.Stack()))
			if !w.headSent && !w.hijacked {
				w.wroteHeader = false
				w.WriteHeader(500)
			}
			w.closeAfter = true
		}
	}()
	c.srv.Handler(w, req)
}

// refuse answers a request the parser refused and closes the connection:
// after a framing error nothing later on it can be trusted. A client
// that timed out mid-head gets 408; one that just left gets nothing.
func (c *conn) refuse(err error) {
	var ne net.Error
	status := StatusOf(err)
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return
	case errors.As(err, &ne) && ne.Timeout():
		status = 408
	case errors.Is(err, io.ErrUnexpectedEOF):
		return
	}
	c.srv.logf(c.remote, err)
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	reason := err.Error()
	if e, ok := err.(*Error); ok {
		reason = e.Reason
	}
	fmt.Fprintf(c.bw, "HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: close\r\n"+
		"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), c.srv.date.get(), len(reason)+1, reason+"\n")
	if c.bw.Flush() == nil {
		c.linger()
	}
}

// linger half-closes the connection and reads what the client already
// sent for a moment: closing a socket with unread data makes the kernel
// send a reset, which can destroy the response before the client reads it.
func (c *conn) linger() {
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok {
		return
	}
	c.bw.Flush()
	cw.CloseWrite()
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, c.nc, maxDrain)
}
