package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// result is what the scenario measured; the test asserts on it.
type result struct {
	PerRequest   map[string]int // 100 requests on one keep-alive connection
	ClientConns  int64          // connections the client opened for them
	BackendConns int64          // connections the balancer opened to backends

	Routed []routed // the routing table exercised

	Headers  string // what a backend saw of a request
	XLB      string // the balancer's own response header
	Out      map[string]int
	Back     map[string]int
	SickUpL4 bool // a TCP check still passed while b2 was sick

	Gets, Posts            map[int]int // statuses while b2 resets requests
	Retried, NotRetried    map[string]int
	RefusedPosts           map[int]int // statuses while b2 refuses connections
	RefusedRetried         int
	StickyA, StickyB       map[string]int
	H2                     map[string]int
	H2Proto, BackendProto  string
	H2Forwarded            string
	H2Conns, H2BackendConn int64
}

type routed struct {
	Host, Path      string
	Status          int
	Backend, Decide string
}

var names = []string{"b1", "b2", "b3"}

// courseRoutes is the course's nginx example with three backends:
//
//	location /admin { return 403; }
//	server_name app1.localhost -> app1 (b1, b2)
//	location /app1  -> app1 (b1, b2)
//	location /app2  -> app2 (b3)
//	location /      -> all  (b1, b2, b3)
func courseRoutes(ts []*lb.Target, p lb.Policy) []route {
	all := lb.NewPool(p, ts...)
	app1 := lb.NewPool(p, ts[0], ts[1])
	app2 := lb.NewPool(p, ts[2])
	return []route{
		{name: "admin", prefix: "/admin", deny: true},
		{name: "app1 (by host)", host: "app1.localhost", prefix: "/", pool: app1},
		{name: "app1", prefix: "/app1", pool: app1},
		{name: "app2", prefix: "/app2", pool: app2},
		{name: "all", prefix: "/", pool: all},
	}
}

// front serves b on a fresh loopback port, with TLS (and HTTP/2) if conf
// is set, and counts the client connections it accepts.
func front(ctx context.Context, b *balancer, conf *tlsConf, conns *atomic.Int64) (*demo.Running, error) {
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: quietLog,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew && conns != nil {
				conns.Add(1)
			}
		}}
	if conf != nil {
		srv.TLSConfig = conf.server
	}
	return demo.StartHTTP(ctx, srv, "127.0.0.1:0")
}

// course starts a balancer with the course's routes over ts, set up by
// tweak, behind a fresh loopback server; stop shuts both down.
func course(ctx context.Context, tl *timeline.Timeline, ts []*lb.Target, conf *tlsConf,
	conns *atomic.Int64, tweak func(*balancer)) (*balancer, *demo.Running, func(), error) {
	b := newBalancer("l7-lb", courseRoutes(ts, lb.RoundRobin), tl)
	if tweak != nil {
		tweak(b)
	}
	srv, err := front(ctx, b, conf, conns)
	if err != nil {
		b.close()
		return nil, nil, nil, err
	}
	return b, srv, func() {
		srv.Close()
		b.close()
	}, nil
}

func backendConns(bs []*lb.Backend) int64 {
	var n int64
	for _, b := range bs {
		n += b.Conns()
	}
	return n
}

func keepAliveClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
}

func closeIdle(c *http.Client) { c.Transport.(*http.Transport).CloseIdleConnections() }

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	bs, err := lb.StartBackends(lb.BackendOptions{}, names...)
	if err != nil {
		return res, err
	}
	defer lb.CloseBackends(bs)
	lb.Announce(tl, bs)
	if err := lb.Scenes(tl,
		func() error { return perRequest(ctx, tl, bs, &res) },
		func() error { return routing(ctx, tl, bs, &res) },
		func() error { return headers(ctx, tl, bs, &res) },
		func() error { return health(ctx, tl, bs, &res, cfg.Health) },
		func() error { return retries(ctx, tl, bs, &res) },
		func() error { return sticky(ctx, tl, bs, &res) },
		func() error { return tlsH2(ctx, tl, bs, &res) },
	); err != nil {
		return res, err
	}
	tl.Printf("== what l7-lb read and decided on, that l4-lb could not")
	for _, line := range []string{
		"the method               retry a GET on another backend, never a POST that got there",
		"the Host header and path route /app1, /app2, app1.localhost; refuse /admin with 403",
		"each request             a backend per request, not per connection",
		"a cookie                 keep a client on one backend (sticky sessions)",
		"headers both ways        X-Forwarded-*, spoofed ones dropped; X-LB and Set-Cookie added",
		"the answer to /healthz   take out a backend whose port is open but whose app is sick",
		"(l4-lb saw addresses and, for TLS, the server name: nothing after the handshake)",
	} {
		tl.Printf("  %s", line)
	}
	return res, nil
}

// perRequest sends the same 100 keep-alive requests the L4 balancer pinned
// to one backend.
func perRequest(ctx context.Context, tl *timeline.Timeline, bs []*lb.Backend, res *result) error {
	tl.Printf("== an L7 balancer picks a backend per request")
	var conns atomic.Int64
	_, srv, stop, err := course(ctx, tl, lb.Targets(bs), nil, &conns, nil)
	if err != nil {
		return err
	}
	defer stop()
	tl.Note("l7-lb", "listening on %s, round-robin per request", srv.URL)
	c := keepAliveClient()
	defer closeIdle(c)
	before := backendConns(bs)
	tl.Send("client", "l7-lb", "100 x GET / on one keep-alive connection")
	if res.PerRequest, err = lb.Tally(ctx, c, srv.URL+"/", 100); err != nil {
		return err
	}
	res.ClientConns = conns.Load()
	res.BackendConns = backendConns(bs) - before
	tl.Note("client", "answered by: %s   (%d client connection)", lb.Shares(res.PerRequest),
		res.ClientConns)
	tl.Note("l7-lb", "%d keep-alive connections to the backends, reused for all 100", res.BackendConns)
	return nil
}

// routing exercises the course's nginx routes.
func routing(ctx context.Context, tl *timeline.Timeline, bs []*lb.Backend, res *result) error {
	tl.Printf("== routing by path and host (the course's nginx example)")
	_, srv, stop, err := course(ctx, tl, lb.Targets(bs), nil, nil,
		func(b *balancer) { b.verbose = true })
	if err != nil {
		return err
	}
	defer stop()
	c := keepAliveClient()
	defer closeIdle(c)
	hits := bs[0].Hits() + bs[1].Hits() + bs[2].Hits()
	for _, rq := range []struct{ host, path string }{
		{"", "/app1"}, {"", "/app1/page"}, {"", "/app2"}, {"", "/app2/x"},
		{"app1.localhost", "/"}, {"app1.localhost", "/other"},
		{"", "/admin"}, {"", "/admin/users"},
	} {
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+rq.path, nil)
		if err != nil {
			return err
		}
		if rq.host != "" {
			req.Host = rq.host
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.Routed = append(res.Routed, routed{Host: req.Host, Path: rq.path,
			Status: resp.StatusCode, Backend: resp.Header.Get("X-Backend"),
			Decide: resp.Header.Get("X-LB")})
	}
	admin := bs[0].Hits() + bs[1].Hits() + bs[2].Hits() - hits
	tl.Note("l7-lb", "backends served %d of these %d requests: /admin never left the balancer",
		admin, len(res.Routed))
	return nil
}

// headers shows what a backend receives: the balancer's X-Forwarded-*
// (a spoofed one from the client dropped), the client's Host kept.
func headers(ctx context.Context, tl *timeline.Timeline, bs []*lb.Backend, res *result) error {
	tl.Printf("== header rewriting: what the backend receives")
	_, srv, stop, err := course(ctx, tl, lb.Targets(bs), nil, nil, nil)
	if err != nil {
		return err
	}
	defer stop()
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/headers", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	req.Header.Set("Connection", "keep-alive, X-Hop")
	req.Header.Set("X-Hop", "only for the next hop")
	tl.Send("client", "l7-lb", "GET /headers  X-Forwarded-For: 6.6.6.6 (a lie)  Connection: keep-alive, X-Hop")
	c := keepAliveClient()
	defer closeIdle(c)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	res.Headers, res.XLB = string(body), resp.Header.Get("X-LB")
	tl.Printf("%s saw:", resp.Header.Get("X-Backend"))
	for _, l := range strings.Split(strings.TrimSpace(res.Headers), "\n") {
		tl.Printf("    | %s", l)
	}
	tl.Send("l7-lb", "client", "200  X-LB: %s", res.XLB)
	tl.Note("l7-lb", "the lie replaced, X-Hop and Connection removed (hop-by-hop), Host kept")
	return nil
}

// statusText formats status counts: "200 x4, 502 x2".
func statusText(m map[int]int) string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d x%d", code, m[code]))
	}
	return strings.Join(parts, ", ")
}

// health makes b2 sick: its port stays open, so a TCP check passes, but
// the HTTP check on /healthz takes it out until it recovers.
func health(ctx context.Context, tl *timeline.Timeline, bs []*lb.Backend, res *result,
	every time.Duration) error {
	tl.Printf("== active HTTP health checks: GET /healthz every %v, 2 failures out, 2 successes in", every)
	ts := lb.Targets(bs)
	_, srv, stop, err := course(ctx, tl, ts, nil, nil, nil)
	if err != nil {
		return err
	}
	defer stop()
	hc := &http.Client{Timeout: every}
	defer hc.CloseIdleConnections()
	changes := make(chan bool, 4)
	checker := &lb.Checker{Check: lb.HTTPCheck(hc, "http", "/healthz"), Interval: every,
		Fall: 2, Rise: 2, OnChange: func(t *lb.Target, up bool, err error) {
			if up {
				tl.Note("health", "%s healthy again: back in", t)
			} else {
				tl.Note("health", "%s: %v: out", t, err)
			}
			changes <- up
		}}
	defer checker.Start(ctx, ts...)()
	bs[1].SetSick(true)
	tl.Note("b2", "its database is down: /healthz answers 503, the port is still open")
	if err := lb.Await(ctx, changes, false); err != nil {
		return err
	}
	res.SickUpL4 = lb.DialCheck()(ctx, ts[1]) == nil
	tl.Note("health", "a TCP connect to b2 still succeeds: an L4 check would keep it in")
	c := keepAliveClient()
	defer closeIdle(c)
	if res.Out, err = lb.Tally(ctx, c, srv.URL+"/", 30); err != nil {
		return err
	}
	tl.Note("client", "30 requests: %s", lb.Shares(res.Out))
	bs[1].SetSick(false)
	if err := lb.Await(ctx, changes, true); err != nil {
		return err
	}
	if res.Back, err = lb.Tally(ctx, c, srv.URL+"/", 30); err != nil {
		return err
	}
	tl.Note("client", "30 requests: %s", lb.Shares(res.Back))
	return nil
}

// retries makes b2 reset every request it reads (its health check still
// passes): GETs are sent again elsewhere, POSTs are not. Then b2 refuses
// connections outright, and even a POST may go elsewhere.
func retries(ctx context.Context, tl *timeline.Timeline, bs []*lb.Backend, res *result) error {
	tl.Printf("== retries: only what is safe to send twice")
	b, srv, stop, err := course(ctx, tl, lb.Targets(bs), nil, nil, nil)
	if err != nil {
		return err
	}
	defer stop()
	c := keepAliveClient()
	defer closeIdle(c)
	bs[1].SetReset(true)
	tl.Note("b2", "crashes mid-request: every request it reads ends in a TCP reset")
	statuses := func(method string, n int) (map[int]int, error) {
		got := map[int]int{}
		for range n {
			req, err := http.NewRequestWithContext(ctx, method, srv.URL+"/",
				strings.NewReader(map[string]string{"POST": "order=1"}[method]))
			if err != nil {
				return nil, err
			}
			resp, err := c.Do(req)
			if err != nil {
				return nil, err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			got[resp.StatusCode]++
		}
		return got, nil
	}
	if res.Gets, err = statuses("GET", 12); err != nil {
		return err
	}
	if res.Posts, err = statuses("POST", 6); err != nil {
		return err
	}
	res.Retried, res.NotRetried = b.counts()
	tl.Note("client", "12 GET: %s;  6 POST: %s", statusText(res.Gets), statusText(res.Posts))
	bs[1].SetReset(false)
	bs[1].Stop()
	tl.Note("b2", "stopped: connections refused")
	if res.RefusedPosts, err = statuses("POST", 6); err != nil {
		return err
	}
	r2, _ := b.counts()
	res.RefusedRetried = r2["POST"] - res.Retried["POST"]
	tl.Note("client", "6 POST: %s: %d refused connections sent elsewhere, safe since b2 never saw them",
		statusText(res.RefusedPosts), res.RefusedRetried)
	return bs[1].Start()
}

// sticky pins each client to the backend that first answered it.
func sticky(ctx context.Context, tl *timeline.Timeline, bs []*lb.Backend, res *result) error {
	tl.Printf("== sticky sessions by cookie")
	_, srv, stop, err := course(ctx, tl, lb.Targets(bs), nil, nil,
		func(b *balancer) { b.sticky = true })
	if err != nil {
		return err
	}
	defer stop()
	for i, m := range []*map[string]int{&res.StickyA, &res.StickyB} {
		jar, _ := cookiejar.New(nil)
		c := keepAliveClient()
		c.Jar = jar
		*m, err = lb.Tally(ctx, c, srv.URL+"/", 10)
		closeIdle(c)
		if err != nil {
			return err
		}
		u := srv.URL + "/"
		req, _ := http.NewRequest("GET", u, nil)
		var cookie string
		for _, ck := range jar.Cookies(req.URL) {
			cookie = ck.String()
		}
		tl.Note(fmt.Sprintf("client %c", 'A'+i), "10 requests: %s  (cookie %s)", lb.Shares(*m), cookie)
	}
	return nil
}

// tlsConf is a CA and a server configuration it issued (h2, http/1.1).
type tlsConf struct {
	ca     *certs.CA
	server *tls.Config
}

func newTLS() (*tlsConf, error) {
	ca, err := certs.NewCA()
	if err != nil {
		return nil, err
	}
	return tlsFrom(ca)
}

func tlsFrom(ca *certs.CA) (*tlsConf, error) {
	conf, err := ca.ServerConfig()
	if err != nil {
		return nil, err
	}
	return &tlsConf{ca: ca, server: conf}, nil
}

var quietLog = log.New(io.Discard, "", 0)

// tlsH2 terminates TLS at the balancer and speaks HTTP/2 to the client and
// HTTP/1.1 to the backends.
func tlsH2(ctx context.Context, tl *timeline.Timeline, bs []*lb.Backend, res *result) error {
	tl.Printf("== TLS terminated at the balancer: HTTP/2 in front, HTTP/1.1 behind")
	conf, err := newTLS()
	if err != nil {
		return err
	}
	var conns atomic.Int64
	_, srv, stop, err := course(ctx, tl, lb.Targets(bs), conf, &conns, nil)
	if err != nil {
		return err
	}
	defer stop()
	tr := &http.Transport{TLSClientConfig: conf.ca.ClientConfig(), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	before := backendConns(bs)
	if res.H2, err = lb.Tally(ctx, c, srv.URL+"/", 99); err != nil {
		return err
	}
	resp, err := c.Get(srv.URL + "/headers")
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	res.H2Proto = resp.Proto
	res.H2Conns, res.H2BackendConn = conns.Load(), backendConns(bs)-before
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "GET ") {
			res.BackendProto = l[strings.LastIndex(l, " ")+1:]
		}
		if strings.HasPrefix(l, "X-Forwarded-Proto") {
			res.H2Forwarded = l
		}
	}
	tl.Note("client", "99 requests over %s on %d TLS connection: %s", res.H2Proto, res.H2Conns,
		lb.Shares(res.H2))
	tl.Note("l7-lb", "to the backends: %s over %d keep-alive connections; they see %q",
		res.BackendProto, res.H2BackendConn, res.H2Forwarded)
	return nil
}
