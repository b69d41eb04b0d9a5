package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/websocket"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

type config struct {
	Timeout time.Duration // the proxy waits this long for response headers
}

// result is what the scenario measured; the test asserts on it.
type result struct {
	ClientProto, BackendSaw string // HTTP/2.0 outside; the request inside
	Host                    string // the Host the client used
	Spread                  map[string]int
	ClientConns             int64
	BackendConns            int64
	Cache                   []string // X-Cache of each fetch
	CacheRenders            []string // the body of each fetch
	CacheAge                string
	Events                  []time.Duration // when each event reached the client
	EventGap                time.Duration   // the backend's pause between events
	WSReply                 string
	Down, Slow              int // statuses
	SlowAfter               time.Duration
}

var names = []string{"b1", "b2", "b3"}

// stack is the proxy with its backends.
type stack struct {
	bs     []*lb.Backend
	pool   *lb.Pool
	tr     *http.Transport
	cache  *cache
	server *http.Server // not started: see start and serve
	conns  atomic.Int64
}

// build starts three backends and makes the proxy server in front of them,
// serving TLS with HTTP/2 (and HTTP/1.1) from ca if it is set.
func build(ca *certs.CA, timeout time.Duration, tl *timeline.Timeline) (*stack, error) {
	bs, err := lb.StartBackends(lb.BackendOptions{Routes: backendRoutes}, names...)
	if err != nil {
		return nil, err
	}
	s := &stack{bs: bs, pool: lb.NewPool(lb.RoundRobin, lb.Targets(bs)...)}
	rp, tr := newProxy(s.pool, timeout, tl)
	s.tr, s.cache = tr, newCache(rp)
	s.server = &http.Server{Handler: s.cache, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: quietLog,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		}}
	if ca != nil {
		conf, err := ca.ServerConfig()
		if err != nil {
			s.close()
			return nil, err
		}
		s.server.TLSConfig = conf
	}
	return s, nil
}

// close stops the backends and drops idle backend connections; the
// server is stopped by whoever started it.
func (s *stack) close() {
	if s.tr != nil {
		s.tr.CloseIdleConnections()
	}
	lb.CloseBackends(s.bs)
}

func (s *stack) backendConns() int64 {
	var n int64
	for _, b := range s.bs {
		n += b.Conns()
	}
	return n
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	ca, err := certs.NewCA()
	if err != nil {
		return res, err
	}
	s, err := build(ca, cfg.Timeout, tl)
	if err != nil {
		return res, err
	}
	defer s.close()
	run, err := demo.StartHTTP(ctx, s.server, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer run.Close()
	for _, b := range s.bs {
		tl.Note(b.Name, "listening on %s (HTTP/1.1, no TLS)", b.URL())
	}
	tl.Note("proxy", "listening on %s: TLS from the demo CA, HTTP/2 and HTTP/1.1", run.URL)
	tr := &http.Transport{TLSClientConfig: ca.ClientConfig(), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := "https://" + strings.Replace(run.Addr, "127.0.0.1", "localhost", 1)
	if err := lb.Scenes(tl,
		func() error { return origin(ctx, tl, c, base, s, &res) },
		func() error { return cached(ctx, tl, c, base, s, &res) },
		func() error { return events(ctx, tl, c, base, &res) },
		func() error { return upgrade(ctx, tl, ca, base, &res) },
		func() error { return failures(ctx, tl, c, base, s, cfg, &res) },
	); err != nil {
		return res, err
	}
	return res, nil
}

func get(ctx context.Context, c *http.Client, url string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(body), err
}

// origin shows the request as the client sent it and as a backend got it.
func origin(ctx context.Context, tl *timeline.Timeline, c *http.Client, base string,
	s *stack, res *result) error {
	tl.Printf("== the client talks to the proxy as if it were the origin")
	resp, body, err := get(ctx, c, base+"/headers")
	if err != nil {
		return err
	}
	res.ClientProto, res.BackendSaw, res.Host = resp.Proto, body, resp.Request.URL.Host
	tl.Send("client", "proxy", "GET %s/headers over %s, certificate for %s verified",
		base, resp.Proto, resp.TLS.PeerCertificates[0].DNSNames[0])
	tl.Printf("%s received:", resp.Header.Get("X-Backend"))
	for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
		tl.Printf("    | %s", l)
	}
	tl.Note("proxy", "kept the client's Host (SetURL alone would send the backend's address)")
	if res.Spread, err = lb.Tally(ctx, c, base+"/", 60); err != nil {
		return err
	}
	res.ClientConns, res.BackendConns = s.conns.Load(), s.backendConns()
	tl.Note("client", "60 more requests: %s, all on %d client connection (HTTP/2 multiplexes)",
		lb.Shares(res.Spread), res.ClientConns)
	tl.Note("proxy", "%d backend connections in all: the HTTP/1.1 keep-alive pools are reused",
		res.BackendConns)
	return nil
}

// cached fetches a page that allows a shared cache to keep it a second.
func cached(ctx context.Context, tl *timeline.Timeline, c *http.Client, base string,
	s *stack, res *result) error {
	tl.Printf("== a small cache for GET: Cache-Control: max-age=1")
	fetch := func() error {
		resp, body, err := get(ctx, c, base+"/cached?max-age=1")
		if err != nil {
			return err
		}
		x := resp.Header.Get("X-Cache")
		res.Cache = append(res.Cache, x)
		res.CacheRenders = append(res.CacheRenders, strings.TrimSpace(body))
		if age := resp.Header.Get("Age"); age != "" {
			res.CacheAge = age
			x += ", Age: " + age
		}
		tl.Send("proxy", "client", "%-30s %s", strings.TrimSpace(body), x)
		return nil
	}
	for range 3 {
		if err := fetch(); err != nil {
			return err
		}
	}
	wait := time.NewTimer(1100 * time.Millisecond)
	defer wait.Stop()
	tl.Note("client", "waits out the second of freshness")
	select {
	case <-wait.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := fetch(); err != nil {
		return err
	}
	hits := 0
	for _, x := range res.Cache {
		if x == "HIT" {
			hits++
		}
	}
	tl.Note("proxy", "%d of %d fetches served from the cache; the backends rendered the page %d times",
		hits, len(res.Cache), len(res.Cache)-hits)
	return nil
}

// events reads a server-sent event stream through the proxy and times
// each event's arrival: flushed at once, they arrive as they were sent.
func events(ctx context.Context, tl *timeline.Timeline, c *http.Client, base string,
	res *result) error {
	res.EventGap = 150 * time.Millisecond
	tl.Printf("== server-sent events through the proxy, one every %v", res.EventGap)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("%s/events?n=3&every=%s", base, res.EventGap), nil)
	if err != nil {
		return err
	}
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			at := time.Since(t0)
			res.Events = append(res.Events, at)
			tl.Send("proxy", "client", "%-16s at +%s", data, timeline.Ms(at))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	tl.Note("proxy", "ReverseProxy flushes text/event-stream after every write")
	return nil
}

// upgrade opens a WebSocket through the proxy (HTTP/1.1 with Upgrade: the
// proxy passes the 101 on, then copies bytes both ways).
func upgrade(ctx context.Context, tl *timeline.Timeline, ca *certs.CA, base string,
	res *result) error {
	tl.Printf("== a WebSocket upgrade passed through")
	wsURL := strings.Replace(base, "https://", "wss://", 1) + "/ws"
	conf, err := websocket.NewConfig(wsURL, base)
	if err != nil {
		return err
	}
	conf.TlsConfig = ca.ClientConfig() // no ALPN: HTTP/1.1, where Upgrade lives
	ws, err := conf.DialContext(ctx)
	if err != nil {
		return fmt.Errorf("websocket: %w", err)
	}
	defer ws.Close()
	ws.SetDeadline(time.Now().Add(5 * time.Second))
	tl.Send("client", "proxy", "GET /ws  Upgrade: websocket  -> 101 Switching Protocols")
	if _, err := io.WriteString(ws, "hello"); err != nil {
		return err
	}
	buf := make([]byte, 256)
	n, err := ws.Read(buf)
	if err != nil {
		return err
	}
	res.WSReply = string(buf[:n])
	tl.Send("proxy", "client", "frame %q", res.WSReply)
	return nil
}

// failures shows the two statuses a proxy owes its client when a backend
// fails it: 502 for a backend that is down, 504 for one that is too slow.
func failures(ctx context.Context, tl *timeline.Timeline, c *http.Client, base string,
	s *stack, cfg config, res *result) error {
	tl.Printf("== when a backend fails: 502 and 504")
	down := s.bs[2]
	down.Stop()
	tl.Note(down.Name, "stopped")
	for range 3 {
		resp, _, err := get(ctx, c, base+"/")
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			res.Down = resp.StatusCode
		}
		from := resp.Header.Get("X-Backend")
		if from == "" {
			from = "(from the proxy: no backend answered)"
		}
		tl.Send("proxy", "client", "%s %s", resp.Status, from)
	}
	if err := down.Start(); err != nil {
		return err
	}
	t0 := time.Now()
	resp, _, err := get(ctx, c, base+"/slow?for=5s")
	if err != nil {
		return err
	}
	res.Slow, res.SlowAfter = resp.StatusCode, time.Since(t0)
	tl.Send("proxy", "client", "GET /slow?for=5s: %s after %s (the proxy waits %v for headers)",
		resp.Status, timeline.Ms(res.SlowAfter), cfg.Timeout)
	tl.Note("proxy", "no retries here: sending a request elsewhere is the l7-lb's decision")
	return nil
}
