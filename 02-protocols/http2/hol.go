package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"backend-protocols/internal/timing"
)

// holRow is one way of sending a slow request and some fast ones on one
// connection, and what the fast ones waited.
type holRow struct {
	Name  string
	Slow  time.Duration   // the slow response, from its request
	Fast  []time.Duration // each fast response, from its request
	Conns int             // TCP connections the server accepted for it
}

// FastSummary summarizes the fast requests' latencies.
func (r holRow) FastSummary() timing.Summary { return timing.Summarize(r.Fast) }

// holClient measures one client: a first request opens the connection,
// then the slow request starts, and once the server is running its
// handler, n fast requests go out at once.
func holClient(ctx context.Context, srv *server, base string, tr *http.Transport,
	slow time.Duration, n int) (row holRow, err error) {
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	fetch := func(path string) (time.Duration, error) {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		if err != nil {
			return 0, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return time.Since(start), nil
	}
	conns := srv.conns.Load()
	if _, err := fetch("/fast"); err != nil {
		return row, err
	}
	drain(srv.started)
	slowDone := make(chan error, 1)
	go func() {
		d, err := fetch(fmt.Sprintf("/slow?ms=%d", slow.Milliseconds()))
		row.Slow = d
		slowDone <- err
	}()
	if err := waitFor(ctx, srv.started, "/slow"); err != nil {
		return row, err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range n {
		wg.Go(func() {
			d, err := fetch("/fast")
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			row.Fast = append(row.Fast, d)
		})
	}
	wg.Wait()
	if err := <-slowDone; err != nil {
		return row, err
	}
	row.Conns = int(srv.conns.Load() - conns)
	return row, firstErr
}

// holPipelined writes the slow request and n fast ones on one TCP
// connection in a single write, as HTTP/1.1 pipelining allows, and times
// each response as it arrives: they come back in request order.
func holPipelined(ctx context.Context, srv *server, addr string,
	slow time.Duration, n int) (row holRow, err error) {
	conns := srv.conns.Load()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return row, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	var reqs strings.Builder
	fmt.Fprintf(&reqs, "GET /slow?ms=%d HTTP/1.1\r\nHost: %s\r\n\r\n",
		slow.Milliseconds(), addr)
	for range n {
		fmt.Fprintf(&reqs, "GET /fast HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	}
	start := time.Now()
	if _, err := io.WriteString(c, reqs.String()); err != nil {
		return row, err
	}
	br := bufio.NewReader(c)
	for i := range n + 1 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return row, fmt.Errorf("response %d: %w", i+1, err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return row, err
		}
		if i == 0 {
			row.Slow = time.Since(start)
		} else {
			row.Fast = append(row.Fast, time.Since(start))
		}
	}
	row.Conns = int(srv.conns.Load() - conns)
	return row, nil
}

// drain empties a notification channel.
func drain(c chan string) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// waitFor waits until the server reports that a handler for path runs.
func waitFor(ctx context.Context, c chan string, path string) error {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case p := <-c:
			if p == path {
				return nil
			}
		case <-t.C:
			return fmt.Errorf("the server never ran %s", path)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
