package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"time"

	"backend-protocols/internal/conntrack"
)

// blocked is how long a fast request took behind a slow one.
type blocked struct {
	How  string
	Fast time.Duration // the fast request, sent to answered
	Wait time.Duration // of that, waiting for a connection in the client
}

// pipelined writes a slow and a fast request back to back on one
// HTTP/1.1 connection (RFC 9112 section 9.3.2) and times both answers:
// responses come back in request order, so the fast one waits for the slow
// one to finish.
func pipelined(ctx context.Context, addr string, slow time.Duration) (blocked, error) {
	res := blocked{How: "HTTP/1.1, one connection, pipelined"}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return res, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	reqs := fmt.Sprintf("GET /asset?i=slow&ms=%d HTTP/1.1\r\nHost: %s\r\n\r\n"+
		"GET /asset?i=fast&ms=0 HTTP/1.1\r\nHost: %s\r\n\r\n",
		slow.Milliseconds(), addr, addr)
	start := time.Now()
	if _, err := io.WriteString(c, reqs); err != nil {
		return res, err
	}
	br := bufio.NewReader(c)
	for range 2 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return res, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return res, err
		}
	}
	res.Fast = time.Since(start)
	return res, nil
}

// behindBusy fills every connection a client may open with slow requests,
// then sends a fast one through the same client and times it. On HTTP/1.1
// with limit connections the fast request waits for one to free up; on
// HTTP/2 it is one more stream on the busy connection.
func behindBusy(ctx context.Context, tr *conntrack.Tracker, base string,
	h2 bool, limit int, slow time.Duration) (blocked, error) {
	res := blocked{How: fmt.Sprintf("HTTP/1.1, %d per host, all busy", limit)}
	if h2 {
		res.How, limit = "HTTP/2, one connection", 1
	}
	tp := newTransport(h2, limit)
	defer tp.CloseIdleConnections()
	c := &http.Client{Transport: tp}
	if h2 {
		if _, err := get(ctx, c, base+"/"); err != nil {
			return res, err
		}
	}
	tr.Reset()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, limit)
	for i := range limit {
		go func() {
			_, err := get(ctx, c, fmt.Sprintf("%s/asset?i=slow%d&ms=%d",
				base, i, slow.Milliseconds()))
			errc <- err
		}()
	}
	if err := waitFor(ctx, func() bool { return tr.Stats().InFlight == limit }); err != nil {
		return res, fmt.Errorf("slow requests never all in flight: %w", err)
	}
	var asked time.Time
	trace := &httptrace.ClientTrace{
		GetConn: func(string) { asked = time.Now() },
		GotConn: func(httptrace.GotConnInfo) { res.Wait = time.Since(asked) },
	}
	start := time.Now()
	_, err := get(httptrace.WithClientTrace(ctx, trace), c, base+"/asset?i=fast&ms=0")
	res.Fast = time.Since(start)
	if err != nil {
		return res, err
	}
	for range limit {
		if err := <-errc; err != nil {
			return res, err
		}
	}
	return res, nil
}
