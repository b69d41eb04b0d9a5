package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

// running names the goroutines that must all be gone when a test ends:
// leak.Check also counts this process's descriptors before and after.
var running = []string{"main.(*balancer)", "net/http.(*conn).serve", "net/http.(*persistConn)",
	"lb.(*Checker)"}

func TestScenario(t *testing.T) {
	leak.Check(t, running...)
	res, err := scenario(context.Background(), timeline.Quiet(), config{Health: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("per request", func(t *testing.T) {
		got := slices.Sorted(maps.Values(res.PerRequest))
		if !slices.Equal(got, []int{33, 33, 34}) || res.ClientConns != 1 {
			t.Errorf("100 requests on %d connection: got %v, want 34/33/33 on one", res.ClientConns, res.PerRequest)
		}
		if res.BackendConns != 3 {
			t.Errorf("got %d backend connections, want 3 reused keep-alive ones", res.BackendConns)
		}
	})
	t.Run("routes", func(t *testing.T) {
		want := map[string][]string{"/app1": {"b1", "b2"}, "/app1/page": {"b1", "b2"},
			"/app2": {"b3"}, "/app2/x": {"b3"}, "/": {"b1", "b2"}, "/other": {"b1", "b2"}}
		for _, r := range res.Routed {
			switch {
			case strings.HasPrefix(r.Path, "/admin"):
				if r.Status != 403 || r.Backend != "" {
					t.Errorf("%s: got %d from %q, want 403 from the balancer", r.Path, r.Status, r.Backend)
				}
			case r.Status != 200 || !slices.Contains(want[r.Path], r.Backend):
				t.Errorf("%s %s: got %d from %s, want one of %v", r.Host, r.Path, r.Status, r.Backend, want[r.Path])
			}
		}
		if len(res.Routed) != 8 {
			t.Errorf("got %d routed requests, want 8", len(res.Routed))
		}
	})
	t.Run("headers", func(t *testing.T) {
		h := res.Headers
		for _, want := range []string{"X-Forwarded-For: 127.0.0.1\n", "X-Forwarded-Proto: http\n",
			"X-Forwarded-Host: 127.0.0.1:"} {
			if !strings.Contains(h, want) {
				t.Errorf("backend saw:\n%s\nwant %q", h, want)
			}
		}
		for _, bad := range []string{"6.6.6.6", "X-Hop", "Connection"} {
			if strings.Contains(h, bad) {
				t.Errorf("backend saw:\n%s\nwant no %q", h, bad)
			}
		}
		if !strings.HasPrefix(res.XLB, "route=all backend=b") {
			t.Errorf("got X-LB %q", res.XLB)
		}
	})
	t.Run("health", func(t *testing.T) {
		if !lb.Even(res.Out, 15, "b1", "b3") || !res.SickUpL4 {
			t.Errorf("b2 sick: got %v (port open: %v), want 15/15 on b1 and b3 with b2's port open",
				res.Out, res.SickUpL4)
		}
		if !lb.Even(res.Back, 10, names...) {
			t.Errorf("b2 healthy: got %v, want 10 each", res.Back)
		}
	})
	t.Run("retries", func(t *testing.T) {
		if res.Gets[200] != 12 || res.Retried["GET"] < 1 {
			t.Errorf("GETs: got %v with %d retried, want 12 x 200 and some retried", res.Gets, res.Retried["GET"])
		}
		if res.Posts[502] < 1 || res.Retried["POST"] != 0 || res.NotRetried["POST"] != res.Posts[502] ||
			res.Posts[200]+res.Posts[502] != 6 {
			t.Errorf("POSTs: got %v, %d retried, %d not; want 502 for each that reached b2, none retried",
				res.Posts, res.Retried["POST"], res.NotRetried["POST"])
		}
		if res.RefusedPosts[200] != 6 || res.RefusedRetried < 1 {
			t.Errorf("POSTs to a refusing b2: got %v, %d retried; want all 200 via another backend",
				res.RefusedPosts, res.RefusedRetried)
		}
	})
	t.Run("sticky", func(t *testing.T) {
		for i, m := range []map[string]int{res.StickyA, res.StickyB} {
			if len(m) != 1 || slices.Max(slices.Collect(maps.Values(m))) != 10 {
				t.Errorf("client %d: got %v, want all 10 on one backend", i, m)
			}
		}
	})
	t.Run("tls and h2", func(t *testing.T) {
		if !lb.Even(res.H2, 33, names...) || res.H2Proto != "HTTP/2.0" || res.H2Conns != 1 {
			t.Errorf("got %v over %s on %d connections, want 33 each over HTTP/2 on one", res.H2,
				res.H2Proto, res.H2Conns)
		}
		if res.BackendProto != "HTTP/1.1" || res.H2Forwarded != "X-Forwarded-Proto: https" {
			t.Errorf("backend saw %s and %q, want HTTP/1.1 and https", res.BackendProto, res.H2Forwarded)
		}
	})
}

// setup starts three backends and a balancer in front of them.
func setup(t *testing.T, tweak func(*balancer)) ([]*lb.Backend, string) {
	t.Helper()
	bs, err := lb.StartBackends(lb.BackendOptions{}, names...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lb.CloseBackends(bs) })
	b := newBalancer("l7-lb", courseRoutes(lb.Targets(bs), lb.RoundRobin), timeline.Quiet())
	if tweak != nil {
		tweak(b)
	}
	srv, err := front(context.Background(), b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		b.close()
	})
	return bs, srv.Addr
}

func status(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestFailureStatuses(t *testing.T) {
	leak.Check(t, running...)
	bs, addr := setup(t, func(b *balancer) { b.tr.ResponseHeaderTimeout = 100 * time.Millisecond })
	c := keepAliveClient()
	defer closeIdle(c)
	if got := status(t, c, "http://"+addr+"/slow?for=5s"); got != http.StatusGatewayTimeout {
		t.Errorf("slow backend: got %d, want 504", got)
	}
	lb.CloseBackends(bs)
	if got := status(t, c, "http://"+addr+"/"); got != http.StatusBadGateway {
		t.Errorf("every backend refusing: got %d, want 502", got)
	}
}

// TestPathTricks checks that spellings of /admin that a backend would
// resolve to /admin are refused too.
func TestPathTricks(t *testing.T) {
	leak.Check(t, running...)
	_, addr := setup(t, nil)
	for _, p := range []string{"/nope/../admin", "//admin", "/%61dmin", "/./admin/", "/app1/../admin"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", p)
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.HasPrefix(line, "HTTP/1.1 403") {
			t.Errorf("GET %s: got %q, want 403", p, strings.TrimSpace(line))
		}
	}
	if got, want := cleanPath("/app1/x/"), "/app1/x/"; got != want {
		t.Errorf("cleanPath: got %q, want %q", got, want)
	}
}

func TestNoBackendUp(t *testing.T) {
	leak.Check(t, running...)
	b := newBalancer("l7-lb", courseRoutes([]*lb.Target{lb.NewTarget("x", "127.0.0.1:1"),
		lb.NewTarget("y", "127.0.0.1:1"), lb.NewTarget("z", "127.0.0.1:1")}, lb.RoundRobin), timeline.Quiet())
	for _, rt := range b.routes {
		if rt.pool != nil {
			for _, tg := range rt.pool.Targets {
				tg.SetUp(false)
			}
		}
	}
	defer b.close()
	srv, err := front(context.Background(), b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := keepAliveClient()
	defer closeIdle(c)
	if got := status(t, c, srv.URL+"/"); got != http.StatusServiceUnavailable {
		t.Errorf("all down: got %d, want 503", got)
	}
}

// TestBadInput sends a malformed request line and a client that vanishes
// mid-request, and checks that the balancer answers 400 or lets go, and
// keeps serving.
func TestBadInput(t *testing.T) {
	leak.Check(t, running...)
	_, addr := setup(t, nil)
	for _, in := range []string{"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
		"GET /\x00 HTTP/1.1\r\n\r\n"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, in)
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.HasPrefix(line, "HTTP/1.1 400") && !strings.HasPrefix(line, "HTTP/1.1 505") {
			t.Errorf("%q: got %q, want 400 or 505", in, line)
		}
	}
	// Vanish while the backend is still working on the request.
	for range 5 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /slow?for=10s HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(10 * time.Millisecond)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	c := keepAliveClient()
	defer closeIdle(c)
	if got := status(t, c, "http://"+addr+"/"); got != 200 {
		t.Errorf("after bad clients: got %d, want 200", got)
	}
}

func TestServe(t *testing.T) {
	leak.Check(t, running...)
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			ca, _ := certs.NewCA()
			addr := lb.ServeForTest(t, func(ctx context.Context, ln net.Listener) error {
				return serve(ctx, ln, timeline.Quiet(), serveConfig{CA: ca,
					Flags: lb.Flags{TLS: useTLS, Health: time.Second}})
			})
			tr := &http.Transport{TLSClientConfig: ca.ClientConfig(), ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			base := "http://" + addr
			if useTLS {
				base = "https://" + addr
			}
			got, err := lb.Tally(context.Background(), c, base+"/app1", 4)
			if err != nil || !lb.Even(got, 2, "b1", "b2") {
				t.Errorf("/app1: got %v, %v; want b1 and b2 twice each", got, err)
			}
			if code := status(t, c, base+"/admin"); code != 403 {
				t.Errorf("/admin: got %d, want 403", code)
			}
		})
	}
}
