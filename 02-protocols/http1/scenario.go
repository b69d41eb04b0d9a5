package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"backend-protocols/02-protocols/http1/h1"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

// result is what the scenario measured, step by step.
type result struct {
	RawStatus int
	// Keep-alive against one connection per request.
	KeepAlive, Close runStats
	// Pipelining: the order responses came back in, and when.
	PipeOrder   []string
	PipeArrival []time.Duration
	// A chunked stream: when each piece arrived, and its trailer.
	StreamArrival []time.Duration
	StreamTrailer string
	// The smuggling attempt.
	SmuggleStatus int
	SmuggleClosed bool
	AdminServed   bool
	// The slow-loris client, and the fast clients beside it.
	LorisStatus  int
	LorisCut     time.Duration
	FastRequests int
	FastLatency  timing.Summary
}

type runStats struct {
	Requests int
	Dialed   int   // connections the client opened
	Accepted int64 // connections the server saw (0 in -connect mode)
	Elapsed  time.Duration
}

// tap records the bytes a connection writes and reads.
type tap struct {
	net.Conn
	mu      sync.Mutex
	out, in bytes.Buffer
}

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.mu.Lock()
	t.in.Write(p[:n])
	t.mu.Unlock()
	return n, err
}

func (t *tap) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.out.Write(p)
	t.mu.Unlock()
	return t.Conn.Write(p)
}

// take returns what was written and read since the last take.
func (t *tap) take() (out, in []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out, in = bytes.Clone(t.out.Bytes()), bytes.Clone(t.in.Bytes())
	t.out.Reset()
	t.in.Reset()
	return out, in
}

func dialTap(ctx context.Context, addr string) (*tap, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &tap{Conn: nc}, nil
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	srv := newServer(cfg, tl)
	run, err := demo.Start(ctx, "127.0.0.1:0", srv.serve)
	if err != nil {
		return result{}, err
	}
	defer run.Close()
	addr := run.Addr
	tl.Note("server", "h1 engine listening on %s", addr)
	res, err := clientSide(ctx, tl, addr, cfg, srv)
	if err != nil {
		return res, err
	}
	if err := slowLoris(ctx, tl, &res); err != nil {
		return res, err
	}
	return res, nil
}

// clientSide runs the steps that need only a server's address; srv is
// nil in -connect mode, where the server is someone else's.
func clientSide(ctx context.Context, tl *timeline.Timeline, addr string,
	cfg config, srv *server) (result, error) {
	var res result
	steps := []func() error{
		func() error { return rawBytes(ctx, tl, addr, &res) },
		func() error { return keepAlive(ctx, tl, addr, cfg, srv, &res) },
		func() error { return pipelining(ctx, tl, addr, &res) },
		func() error { return stream(ctx, tl, addr, &res) },
		func() error { return smuggle(ctx, tl, addr, srv, &res) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return res, err
		}
		tl.Printf("")
	}
	return res, nil
}

// rawBytes sends one GET and prints both messages exactly as they
// crossed the wire.
func rawBytes(ctx context.Context, tl *timeline.Timeline, addr string, res *result) error {
	tl.Printf("== one request and its response, byte for byte")
	t, err := dialTap(ctx, addr)
	if err != nil {
		return err
	}
	defer t.Close()
	c := h1.NewClientConn(t, h1.Limits{})
	req := h1.NewRequest("GET", addr, "/hello?lang=go", nil)
	req.Header.Add("User-Agent", "h1-demo")
	req.Header.Add("Accept", "text/plain")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	out, in := t.take()
	tl.Dump("client -> server", out)
	tl.Dump("server -> client", in)
	tl.Note("client", "status %d, %d-byte body, %s round trip",
		resp.Status, resp.ContentLength, timeline.Ms(time.Since(start)))
	res.RawStatus = resp.Status
	return nil
}

// keepAlive sends the same requests on one connection, then on a new
// connection each (Connection: close), and compares.
func keepAlive(ctx context.Context, tl *timeline.Timeline, addr string, cfg config,
	srv *server, res *result) error {
	tl.Printf("== %d requests with keep-alive, then %d with a connection each",
		cfg.Requests, cfg.Requests)
	run := func(reuse bool) (runStats, error) {
		st := runStats{Requests: cfg.Requests}
		before := int64(0)
		if srv != nil {
			before = srv.conns.Load()
		}
		var c *h1.ClientConn
		start := time.Now()
		for i := range cfg.Requests {
			if c == nil {
				var err error
				if c, err = h1.Dial(ctx, addr); err != nil {
					return st, err
				}
				st.Dialed++
			}
			req := h1.NewRequest("GET", addr, fmt.Sprintf("/item/%d", i), nil)
			req.Close = !reuse
			resp, err := c.Do(req)
			if err != nil {
				return st, err
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return st, err
			}
			if !reuse || resp.Close {
				c.Close()
				c = nil
			}
		}
		st.Elapsed = time.Since(start)
		if c != nil {
			c.Close()
		}
		if srv != nil {
			st.Accepted = srv.conns.Load() - before
		}
		return st, nil
	}
	var err error
	if res.KeepAlive, err = run(true); err != nil {
		return err
	}
	if res.Close, err = run(false); err != nil {
		return err
	}
	tl.Printf("%-24s %10s %10s", "", "keep-alive", "close")
	tl.Printf("%-24s %10d %10d", "requests", res.KeepAlive.Requests, res.Close.Requests)
	tl.Printf("%-24s %10d %10d", "connections opened", res.KeepAlive.Dialed, res.Close.Dialed)
	if srv != nil {
		tl.Printf("%-24s %10d %10d", "connections accepted",
			res.KeepAlive.Accepted, res.Close.Accepted)
	}
	tl.Printf("%-24s %10s %10s", "total time",
		timeline.Ms(res.KeepAlive.Elapsed), timeline.Ms(res.Close.Elapsed))
	tl.Printf("%-24s %10s %10s", "per request",
		perRequest(res.KeepAlive), perRequest(res.Close))
	return nil
}

func perRequest(s runStats) string {
	d := s.Elapsed / time.Duration(max(s.Requests, 1))
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}

// pipelining writes three requests at once, the first slow, and reads
// the responses: they come back in request order, so the quick ones wait
// behind the slow one (head-of-line blocking).
func pipelining(ctx context.Context, tl *timeline.Timeline, addr string, res *result) error {
	tl.Printf("== pipelining: three requests in one write, the first one slow")
	t, err := dialTap(ctx, addr)
	if err != nil {
		return err
	}
	defer t.Close()
	c := h1.NewClientConn(t, h1.Limits{})
	targets := []string{"/slow", "/quick-1", "/quick-2"}
	start := time.Now()
	for _, p := range targets {
		if err := c.WriteRequest(h1.NewRequest("GET", addr, p, nil)); err != nil {
			return err
		}
		tl.Send("client", "server", "GET %s", p)
	}
	for range targets {
		resp, err := c.ReadResponse()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		at := time.Since(start)
		res.PipeArrival = append(res.PipeArrival, at)
		res.PipeOrder = append(res.PipeOrder, strings.TrimSpace(string(b)))
		tl.Send("server", "client", "%d %q after %s", resp.Status,
			strings.TrimSpace(string(b)), timeline.Ms(at))
	}
	tl.Printf("the quick answers waited %s behind the slow one: responses leave in request order",
		timeline.Ms(res.PipeArrival[1]))
	return nil
}

// stream reads a chunked response piece by piece, printing each chunk
// as it arrives with its framing.
func stream(ctx context.Context, tl *timeline.Timeline, addr string, res *result) error {
	tl.Printf("== a chunked stream, each piece printed as it arrives")
	t, err := dialTap(ctx, addr)
	if err != nil {
		return err
	}
	defer t.Close()
	c := h1.NewClientConn(t, h1.Limits{})
	start := time.Now()
	resp, err := c.Do(h1.NewRequest("GET", addr, "/stream", nil))
	if err != nil {
		return err
	}
	// The first piece may have come in the same read as the head.
	_, got := t.take()
	head, pending, _ := bytes.Cut(got, []byte("\r\n\r\n"))
	tl.Dump("server -> client (head)", append(head, "\r\n\r\n"...))
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			res.StreamArrival = append(res.StreamArrival, time.Since(start))
			_, wire := t.take()
			tl.Send("server", "client", "chunk %q", append(pending, wire...))
			pending = nil
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	_, wire := t.take()
	res.StreamTrailer = resp.Trailer.Get("X-Pieces")
	tl.Send("server", "client", "end %q (last chunk and trailer X-Pieces: %s)",
		wire, res.StreamTrailer)
	return nil
}

// smuggle sends the classic CL.TE attack: Content-Length says the body
// is 4 bytes, Transfer-Encoding says it ends at the zero chunk, and a
// second request hides after it. A front end trusting one field and a
// back end trusting the other would see different requests.
func smuggle(ctx context.Context, tl *timeline.Timeline, addr string, srv *server,
	res *result) error {
	tl.Printf("== a request smuggling attempt (Content-Length and Transfer-Encoding)")
	t, err := dialTap(ctx, addr)
	if err != nil {
		return err
	}
	defer t.Close()
	attack := "POST / HTTP/1.1\r\nHost: " + addr + "\r\nContent-Length: 4\r\n" +
		"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
		"GET /admin HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
	tl.Dump("client -> server", []byte(attack))
	tl.Printf("by Content-Length the body is \"0\\r\\n\\r\\n\"; by chunked it ends there too,")
	tl.Printf("but a front end that trusts one and a back end that trusts the other")
	tl.Printf("disagree on where GET /admin starts. Refusing both at once closes the gap.")
	if _, err := io.WriteString(t, attack); err != nil {
		return err
	}
	t.SetReadDeadline(time.Now().Add(5 * time.Second))
	rd := h1.NewReader(t, h1.Limits{})
	resp, err := rd.ReadResponse("POST")
	if err != nil {
		return fmt.Errorf("smuggling attempt: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	res.SmuggleStatus = resp.Status
	_, err = rd.Bufio().ReadByte()
	res.SmuggleClosed = errors.Is(err, io.EOF)
	tl.Send("server", "client", "%d %s: %s", resp.Status, resp.Reason,
		strings.TrimSpace(string(body)))
	if res.SmuggleClosed {
		tl.Note("client", "server closed the connection: nothing after the bad request is read")
	}
	if srv != nil {
		for _, s := range srv.servedTargets() {
			if strings.HasSuffix(s, "/admin") {
				res.AdminServed = true
			}
		}
		tl.Note("server", "handler ran for /admin: %v", res.AdminServed)
	}
	return nil
}

// slowLoris starts a server with a short header timeout, trickles one
// client's header a byte at a time, and keeps fast clients busy beside it.
func slowLoris(ctx context.Context, tl *timeline.Timeline, res *result) error {
	const headerTimeout = 200 * time.Millisecond
	tl.Printf("== slow loris: one client trickles its header, %v header timeout", headerTimeout)
	srv := newServer(config{}, timeline.Quiet())
	srv.h1.HeaderTimeout = headerTimeout
	run, err := demo.Start(ctx, "127.0.0.1:0", srv.serve)
	if err != nil {
		return err
	}
	defer run.Close()
	addr := run.Addr
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer slow.Close()
	start := time.Now()
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		for _, b := range []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " +
			strings.Repeat("z", 50)) {
			if _, err := slow.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond) // the attacker's pace
		}
	}()
	tl.Note("slow", "sends one header byte every 10ms")
	type answer struct {
		resp *h1.Response
		at   time.Duration
		err  error
	}
	cutoff := make(chan answer, 1)
	go func() {
		slow.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := h1.NewReader(slow, h1.Limits{}).ReadResponse("GET")
		cutoff <- answer{resp, time.Since(start), err}
	}()
	load := timing.Load{Workers: 4, Duration: 2 * headerTimeout}
	conns := make([]*h1.ClientConn, load.Workers)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	lr, err := load.Run(ctx, func(ctx context.Context, w int) error {
		if conns[w] == nil {
			c, err := h1.Dial(ctx, addr)
			if err != nil {
				return err
			}
			conns[w] = c
		}
		resp, err := conns[w].Do(h1.NewRequest("GET", addr, "/", nil))
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	})
	if err != nil {
		return err
	}
	if lr.Errors > 0 {
		return fmt.Errorf("fast clients: %d errors, first %v", lr.Errors, lr.FirstError)
	}
	cut := <-cutoff
	if cut.err != nil {
		return fmt.Errorf("slow client: %w", cut.err)
	}
	res.LorisStatus, res.LorisCut = cut.resp.Status, cut.at
	slow.Close()
	<-trickled
	res.FastRequests, res.FastLatency = lr.Requests, lr.Latency
	tl.Note("server", "answered the slow client %d %s after %s and closed it",
		cut.resp.Status, cut.resp.Reason, timeline.Ms(res.LorisCut))
	tl.Note("fast", "%d requests meanwhile on 4 connections: %s",
		lr.Requests, lr.Latency)
	return nil
}
