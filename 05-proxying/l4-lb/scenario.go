package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/timeline"
)

// result is what the scenario measured; the test asserts on it.
type result struct {
	// KeepAlive counts 100 requests on one keep-alive connection by the
	// backend that answered; KeepAliveConns is how many connections the
	// balancer saw for them. PerConn counts 100 requests on 100
	// connections.
	KeepAlive, PerConn map[string]int
	KeepAliveConns     int64

	// Held maps a policy to where two long connections went and where 30
	// short ones made meanwhile went.
	Held map[lb.Policy]heldResult

	HalfClose string // the sink's answer after the client's FIN

	// Health: 30 connections each with b2 stopped but still in the pool,
	// after the checks took it out, and after it came back; how long the
	// checks took to see each change.
	Refused                int64 // dials b2 refused, retried elsewhere
	Down, Out, Back        map[string]int
	RefusedOut             int64 // dials refused once b2 was out
	DownAfter, BackAfter   time.Duration
	Splice                 spliceResult
	SNI                    map[string]sniResult // by server name
	UnknownName, PlainHTTP error
	PlainBytes             string
}

type heldResult struct {
	HeldOn []string       // backends the two long connections went to
	Short  map[string]int // the 30 short connections
}

type sniResult struct {
	Backend, Proto string
}

var names = []string{"b1", "b2", "b3"}

func newPool(p lb.Policy, bs []*lb.Backend) *lb.Pool {
	return lb.NewPool(p, lb.Targets(bs)...)
}

// run serves b on a fresh loopback port until stop is called.
func run(ctx context.Context, b *balancer) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.serve(ctx, ln)
	}()
	return ln.Addr().String(), func() { cancel(); <-done }, nil
}

// clients: one that keeps one connection for every request, and one that
// opens a connection per request.
func keepAliveClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
}

func perConnClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true}}
}

func closeIdle(c *http.Client) { c.Transport.(*http.Transport).CloseIdleConnections() }

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	res := result{Held: map[lb.Policy]heldResult{}, SNI: map[string]sniResult{}}
	bs, err := lb.StartBackends(lb.BackendOptions{}, names...)
	if err != nil {
		return res, err
	}
	defer lb.CloseBackends(bs)
	lb.Announce(tl, bs)
	if err := lb.Scenes(tl,
		func() error { return perConnection(ctx, tl, bs, &res) },
		func() error { return leastConn(ctx, tl, bs, &res) },
		func() error { return halfClose(ctx, tl, &res) },
		func() error { return health(ctx, tl, bs, &res, cfg.Health) },
		func() error { return spliceScene(ctx, tl, bs[0], &res, cfg.Bulk) },
		func() error { return sniScene(ctx, tl, &res) },
	); err != nil {
		return res, err
	}
	return res, nil
}

// perConnection sends 100 requests on one keep-alive connection, then 100
// requests on 100 connections, through a round-robin L4 balancer.
func perConnection(ctx context.Context, tl *timeline.Timeline, bs []*lb.Backend, res *result) error {
	tl.Printf("== an L4 balancer picks a backend per connection, not per request")
	bal := &balancer{name: "l4-lb", pool: newPool(lb.RoundRobin, bs), tl: tl}
	addr, stop, err := run(ctx, bal)
	if err != nil {
		return err
	}
	defer stop()
	tl.Note("l4-lb", "listening on %s, round-robin over b1 b2 b3", addr)
	ka := keepAliveClient()
	defer closeIdle(ka)
	tl.Send("client", "l4-lb", "100 x GET / on one keep-alive connection")
	if res.KeepAlive, err = lb.Tally(ctx, ka, "http://"+addr+"/", 100); err != nil {
		return err
	}
	res.KeepAliveConns = bal.accepted.Load()
	tl.Note("client", "answered by: %s   (%d TCP connection)", lb.Shares(res.KeepAlive),
		res.KeepAliveConns)
	pc := perConnClient()
	tl.Send("client", "l4-lb", "100 x GET /, a new connection each")
	if res.PerConn, err = lb.Tally(ctx, pc, "http://"+addr+"/", 100); err != nil {
		return err
	}
	tl.Note("client", "answered by: %s   (%d TCP connections)", lb.Shares(res.PerConn),
		bal.accepted.Load()-res.KeepAliveConns)
	tl.Note("l4-lb", "it never read a request: one connection, one backend, whatever it carries")
	return nil
}

// leastConn holds two long connections open, then makes 30 short ones one
// after another, under each policy.
func leastConn(ctx context.Context, tl *timeline.Timeline, bs []*lb.Backend, res *result) error {
	tl.Printf("== two long connections held open, then 30 short ones")
	for _, p := range []lb.Policy{lb.RoundRobin, lb.LeastConn} {
		bal := &balancer{name: "l4-lb", pool: newPool(p, bs), tl: tl}
		opened, closed := make(chan string, 64), make(chan string, 64)
		bal.onOpen = func(t *lb.Target) { opened <- t.Name }
		bal.onClose = func(t *lb.Target) { closed <- t.Name }
		addr, stop, err := run(ctx, bal)
		if err != nil {
			return err
		}
		hr, err := holdAndRun(ctx, "http://"+addr, opened, closed)
		stop()
		if err != nil {
			return err
		}
		res.Held[p] = hr
		tl.Note("l4-lb", "%-11s long ones on %s; short ones: %s", p,
			strings.Join(hr.HeldOn, " and "), lb.Shares(hr.Short))
	}
	tl.Note("l4-lb", "least-conn counts what each backend has open and sends new work to the idlest")
	return nil
}

// holdAndRun opens two connections that stay open, then 30 short ones one
// after another, each only once the balancer has seen the last one close.
func holdAndRun(ctx context.Context, base string, opened, closed <-chan string) (heldResult, error) {
	hr := heldResult{Short: map[string]int{}}
	hctx, release := context.WithCancel(ctx)
	pc := perConnClient()
	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := lb.Fetch(hctx, pc, base+"/slow?for=1m")
			done <- err
		}()
	}
	defer func() {
		release()
		<-done
		<-done
	}()
	recv := func(ch <-chan string) (string, error) {
		select {
		case name := <-ch:
			return name, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	for range 2 {
		name, err := recv(opened)
		if err != nil {
			return hr, err
		}
		hr.HeldOn = append(hr.HeldOn, name)
	}
	slices.Sort(hr.HeldOn)
	for range 30 {
		name, err := lb.Fetch(ctx, pc, base+"/")
		if err != nil {
			return hr, err
		}
		hr.Short[name]++
		// The balancer counts a connection until both halves have closed,
		// a moment after the client has its answer: wait for that.
		if _, err := recv(closed); err != nil {
			return hr, err
		}
	}
	return hr, nil
}

// halfClose sends a megabyte through the balancer to a sink and shuts down
// its write side: the answer comes back only if the FIN got through.
func halfClose(ctx context.Context, tl *timeline.Timeline, res *result) error {
	tl.Printf("== half-close: the client's FIN crosses the balancer, the answer comes back")
	sink, err := lb.StartSink("sink")
	if err != nil {
		return err
	}
	defer sink.Close()
	addr, stop, err := run(ctx, &balancer{name: "l4-lb", tl: tl, verbose: true,
		pool: lb.NewPool(lb.RoundRobin, lb.NewTarget("sink", sink.Addr))})
	if err != nil {
		return err
	}
	defer stop()
	c, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tl.Send("client", "l4-lb", "1000000 bytes, then shutdown(SHUT_WR): FIN")
	if res.HalfClose, err = lb.HalfClose(c.(*net.TCPConn), nil, 1e6); err != nil {
		return fmt.Errorf("half-close: %w", err)
	}
	tl.Send("l4-lb", "client", "%q, then FIN", strings.TrimSpace(res.HalfClose))
	return nil
}

// health stops b2: first the balancer only finds out by dialling it, then
// TCP health checks take it out of the pool and put it back when it
// returns.
func health(ctx context.Context, tl *timeline.Timeline, bs []*lb.Backend, res *result,
	every time.Duration) error {
	tl.Printf("== a backend dies: failed dials, then health checks")
	pool := newPool(lb.RoundRobin, bs)
	bal := &balancer{name: "l4-lb", pool: pool, tl: tl}
	addr, stop, err := run(ctx, bal)
	if err != nil {
		return err
	}
	defer stop()
	pc := perConnClient()
	b2 := bs[1]
	b2.Stop()
	tl.Note("b2", "stopped")
	if res.Down, err = lb.Tally(ctx, pc, "http://"+addr+"/", 30); err != nil {
		return err
	}
	res.Refused = bal.failedDials.Load()
	tl.Note("client", "30 connections: %s", lb.Shares(res.Down))
	tl.Note("l4-lb", "%d dials refused by b2, each retried on another backend: every client served, unevenly", res.Refused)

	changes := make(chan bool, 4)
	checker := &lb.Checker{Check: lb.DialCheck(), Interval: every, Fall: 2, Rise: 2,
		OnChange: func(t *lb.Target, up bool, err error) {
			if up {
				tl.Note("health", "%s answers again: back in the pool", t)
			} else {
				tl.Note("health", "%s failed %d checks (%s): out of the pool", t, 2, shortErr(err))
			}
			changes <- up
		}}
	defer checker.Start(ctx, pool.Targets...)()
	tl.Note("health", "a TCP connect to each backend every %v; 2 failures out, 2 successes in", every)
	t0 := time.Now()
	if err := lb.Await(ctx, changes, false); err != nil {
		return err
	}
	res.DownAfter = time.Since(t0)
	tl.Note("health", "b2 out %s after the checks began", timeline.Ms(res.DownAfter))
	if res.Out, err = lb.Tally(ctx, pc, "http://"+addr+"/", 30); err != nil {
		return err
	}
	res.RefusedOut = bal.failedDials.Load() - res.Refused
	tl.Note("client", "30 connections: %s   (%d dials refused)", lb.Shares(res.Out), res.RefusedOut)
	if err := b2.Start(); err != nil {
		return err
	}
	tl.Note("b2", "started again on %s", b2.Addr)
	t0 = time.Now()
	if err := lb.Await(ctx, changes, true); err != nil {
		return err
	}
	res.BackAfter = time.Since(t0)
	tl.Note("health", "b2 back %s after it restarted", timeline.Ms(res.BackAfter))
	if res.Back, err = lb.Tally(ctx, pc, "http://"+addr+"/", 30); err != nil {
		return err
	}
	tl.Note("client", "30 connections: %s", lb.Shares(res.Back))
	return nil
}

// sniScene routes TLS by server name to two HTTPS backends without
// terminating TLS.
func sniScene(ctx context.Context, tl *timeline.Timeline, res *result) error {
	tl.Printf("== SNI routing: the balancer reads the server name and nothing else")
	ca, err := certs.NewCA()
	if err != nil {
		return err
	}
	routes := map[string]*lb.Pool{}
	for _, app := range []string{"app1", "app2"} {
		host := app + ".localhost"
		conf, err := ca.ServerConfig(host)
		if err != nil {
			return err
		}
		b, err := lb.StartBackend(app, lb.BackendOptions{TLS: conf})
		if err != nil {
			return err
		}
		defer b.Close()
		routes[host] = lb.NewPool(lb.RoundRobin, lb.NewTarget(app, b.Addr))
		tl.Note(app, "listening on %s, certificate for %s (the balancer has no key)", b.URL(), host)
	}
	addr, stop, err := run(ctx, &balancer{name: "l4-lb", byName: routes, tl: tl, verbose: true})
	if err != nil {
		return err
	}
	defer stop()
	// Every name resolves to the balancer; the client verifies the
	// backend's certificate against the demo CA, end to end.
	tr := &http.Transport{TLSClientConfig: ca.ClientConfig(), ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", addr)
		}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, host := range []string{"app1.localhost", "app2.localhost"} {
		resp, err := c.Get("https://" + host + "/")
		if err != nil {
			return fmt.Errorf("%s: %w", host, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		r := sniResult{Backend: resp.Header.Get("X-Backend"), Proto: resp.Proto}
		res.SNI[host] = r
		tl.Send(r.Backend, "client", "%s 200 from %s, certificate for %s verified",
			r.Proto, r.Backend, resp.TLS.PeerCertificates[0].DNSNames[0])
	}
	tl.Note("l4-lb", "it saw names and ALPN, never a path, header or byte of the answers")

	// A name no route serves: the client hears a TLS alert.
	unknown := ca.ClientConfig()
	unknown.ServerName = "nope.localhost"
	tc, err := tls.DialWithDialer(&dialer, "tcp", addr, unknown)
	if err == nil {
		tc.Close()
		return errors.New("an unknown name got through")
	}
	res.UnknownName = err
	tl.Note("client", "nope.localhost: %v", err)

	// Plain HTTP to the TLS port: not a ClientHello, closed.
	pc, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer pc.Close()
	pc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(pc, "GET / HTTP/1.1\r\nHost: app1.localhost\r\n\r\n")
	got, err := io.ReadAll(pc)
	res.PlainHTTP, res.PlainBytes = err, string(got)
	tl.Note("client", "plain HTTP to the TLS port: %d bytes back, closed", len(got))
	return nil
}
