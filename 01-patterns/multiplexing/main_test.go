package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/conntrack"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

// testConfig gives every request enough server time that requests sent
// together overlap even on a loaded machine under -race.
var testConfig = config{Assets: 30, Limit: 6, Work: 100 * time.Millisecond,
	Loads: []int{1, 10, 100}, Pool: 10, Clients: 2,
	ProxyWork: 40 * time.Millisecond, Slow: 200 * time.Millisecond}

func TestScenario(t *testing.T) {
	cfg := testConfig
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if left := leak.Gone(5*time.Second, "net/http.(*conn).serve",
			"net/http.(*http2serverConn).serve", "(*ReverseProxy).ServeHTTP"); len(left) > 0 {
			t.Errorf("still serving after the scenario:\n%s", strings.Join(left, "\n\n"))
		}
	})
	if len(res.Pages) != 4 {
		t.Fatalf("got %d page loads, want 4", len(res.Pages))
	}
	t.Run("HTTP/1.1 with six per host", func(t *testing.T) {
		p := res.Pages[0]
		st := p.Server
		if st.Used != cfg.Limit || st.MaxInFlight != cfg.Limit || st.Requests != cfg.Assets {
			t.Errorf("server saw %d connections, %d at once, %d requests; want %d, %d, %d",
				st.Used, st.MaxInFlight, st.Requests, cfg.Limit, cfg.Limit, cfg.Assets)
		}
		if p.Client.Conns != st.Used {
			t.Errorf("client used %d connections, server counted %d", p.Client.Conns, st.Used)
		}
		// Usually 6x5; a connection that falls behind on a loaded
		// machine hands its last asset to another.
		if sum := total(p.PerConn); len(p.PerConn) != cfg.Limit || sum != cfg.Assets {
			t.Errorf("got assets per connection %s, want %d over %d",
				shape(p.PerConn), cfg.Assets, cfg.Limit)
		}
		// Each connection serves five assets one after the other.
		waves := time.Duration(cfg.Assets / cfg.Limit)
		if p.Client.Total < waves*cfg.Work {
			t.Errorf("got total %v, want at least %v (%d waves)", p.Client.Total,
				waves*cfg.Work, waves)
		}
		if p.Client.MaxWait < cfg.Work {
			t.Errorf("longest wait for a connection %v, want at least one asset's %v",
				p.Client.MaxWait, cfg.Work)
		}
	})
	t.Run("HTTP/1.1 without a limit", func(t *testing.T) {
		p, st := res.Pages[1], res.Pages[1].Server
		// Every request in flight at once had a connection of its own
		// (30 of 30 unless a loaded machine lets one finish before
		// another starts, which then reuses its connection).
		if st.Used != p.Client.Conns || st.Used < st.MaxInFlight ||
			st.MaxInFlight <= cfg.Limit || st.Requests != cfg.Assets {
			t.Errorf("server counted %d connections (client %d) for %d requests, %d at "+
				"once; want a connection for each request in flight, more than %d",
				st.Used, p.Client.Conns, st.Requests, st.MaxInFlight, cfg.Limit)
		}
		if st.Used != cfg.Assets {
			t.Logf("only %d of %d requests overlapped: %d connections", st.MaxInFlight,
				cfg.Assets, st.Used)
		}
		if p.Server.Streams != 0 {
			t.Errorf("got %d HTTP/2 streams, want none", p.Server.Streams)
		}
	})
	t.Run("HTTP/2", func(t *testing.T) {
		for _, p := range res.Pages[2:] {
			st := p.Server
			if st.Used != 1 || st.Streams != cfg.Assets || p.Client.Conns != 1 {
				t.Errorf("%s: got %d connections carrying %d streams (client saw %d); "+
					"want 1 carrying %d", p.How, st.Used, st.Streams, p.Client.Conns, cfg.Assets)
			}
		}
		if warm := res.Pages[2].Server.Accepted; warm != 0 {
			t.Errorf("warm client: got %d new connections, want 0 (the page's is reused)", warm)
		}
		if cold := res.Pages[3].Server.Accepted; cold < 1 {
			t.Errorf("cold client: got %d connections accepted, want at least 1", cold)
		}
	})
	t.Run("proxy", func(t *testing.T) {
		if len(res.Proxy) != 2*len(cfg.Loads) {
			t.Fatalf("got %d proxy runs, want %d", len(res.Proxy), 2*len(cfg.Loads))
		}
		for _, p := range res.Proxy {
			f, b := p.Front, p.Back
			if p.Client.Conns != f.Used {
				t.Errorf("%s %d: clients used %d connections, the proxy counted %d",
					p.Way, p.N, p.Client.Conns, f.Used)
			}
			if f.Requests != p.N || b.Requests != p.N {
				t.Errorf("%s %d: proxy saw %d requests, backend %d; want %d each",
					p.Way, p.N, f.Requests, b.Requests, p.N)
			}
			switch p.Way {
			case demuxing:
				if f.Streams != p.N || f.Used != min(p.N, cfg.Clients) ||
					b.Streams != 0 || b.Used > cfg.Pool {
					t.Errorf("%s %d: got %d client connections with %d streams, %d "+
						"backend connections with %d streams; want %d, %d, at most %d, 0",
						p.Way, p.N, f.Used, f.Streams, b.Used, b.Streams,
						min(p.N, cfg.Clients), p.N, cfg.Pool)
				}
				if b.MaxInFlight > cfg.Pool {
					t.Errorf("%s %d: backend handled %d at once, more than the pool of %d",
						p.Way, p.N, b.MaxInFlight, cfg.Pool)
				}
				if p.N >= 10*cfg.Pool {
					if b.Used != cfg.Pool {
						t.Errorf("%s %d: got %d backend connections, want the whole pool of %d",
							p.Way, p.N, b.Used, cfg.Pool)
					}
					// Each pooled connection carries its share one by one.
					if min := time.Duration(p.N/cfg.Pool) * cfg.ProxyWork; p.Total < min {
						t.Errorf("%s %d: got total %v, want at least %v", p.Way, p.N,
							p.Total, min)
					}
				}
			case muxing:
				// A client connection per request in flight (all n of
				// them unless a loaded machine spreads the dials out),
				// one backend connection carrying every stream.
				if f.Streams != 0 || f.Used < f.MaxInFlight || f.Used > p.N ||
					b.Used != 1 || b.Accepted != 0 || b.Streams != p.N {
					t.Errorf("%s %d: got %d client connections (%d streams, %d at once), "+
						"%d backend connections (%d new) carrying %d streams; "+
						"want %d..%d, 0, 1, 0, %d", p.Way, p.N, f.Used, f.Streams,
						f.MaxInFlight, b.Used, b.Accepted, b.Streams, f.MaxInFlight, p.N, p.N)
				}
				if p.N >= 10*cfg.Pool && f.Used <= cfg.Pool {
					t.Errorf("%s %d: got %d client connections, want more than the "+
						"pool of %d", p.Way, p.N, f.Used, cfg.Pool)
				}
			}
		}
		// How much sooner the multiplexed 100 finish depends on how fast
		// the client dials 100 connections, which a loaded machine
		// changes; the pool's queue is what the counts above pin down.
	})
	t.Run("head-of-line blocking", func(t *testing.T) {
		if len(res.HOL) != 3 {
			t.Fatalf("got %d measurements, want 3", len(res.HOL))
		}
		pipe, busy, h2 := res.HOL[0], res.HOL[1], res.HOL[2]
		if pipe.Fast < cfg.Slow {
			t.Errorf("pipelined: fast request answered after %v, want after the slow %v",
				pipe.Fast, cfg.Slow)
		}
		if busy.Fast < cfg.Slow/2 || busy.Wait < cfg.Slow/2 {
			t.Errorf("six busy connections: fast request took %v, waited %v; "+
				"want most of the slow %v", busy.Fast, busy.Wait, cfg.Slow)
		}
		if h2.Fast > cfg.Slow/2 {
			t.Errorf("HTTP/2: fast request took %v, want far less than the slow %v",
				h2.Fast, cfg.Slow)
		}
	})
}

func total(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func TestShape(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want string
	}{
		{[]int{5, 5, 5, 5, 5, 5}, "6x5"},
		{[]int{30}, "1x30"},
		{[]int{1, 2, 1}, "1x2 2x1"},
		{nil, "-"},
	} {
		if got := shape(c.in); got != c.want {
			t.Errorf("shape(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// startServe runs -serve's server on a free port.
func startServe(t *testing.T, work time.Duration) string {
	t.Helper()
	ln, err := demo.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, work) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func stats(t *testing.T, base string) conntrack.Stats {
	t.Helper()
	resp, err := http.Post(base+"/stats", "", nil) // read and reset
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st conntrack.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestConnect drives -serve with -connect's client, which counts on the
// client side, and checks the server agrees.
func TestConnect(t *testing.T) {
	base := startServe(t, 60*time.Millisecond)
	stats(t, base)
	got, err := connect(context.Background(), timeline.Quiet(), base, testConfig)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{6, 30, 1}
	for i, f := range got {
		if f.Conns != want[i] {
			t.Errorf("load %d: client used %d connections, want %d", i, f.Conns, want[i])
		}
	}
	st := stats(t, base)
	if st.Requests != 3*31 || st.Streams != 31 {
		t.Errorf("server counted %d requests, %d streams; want %d and 31",
			st.Requests, st.Streams, 3*31)
	}
}

// TestIndependentClients checks what independent clients do against
// -serve, as the server counts them: curl with six transfers at a time
// over HTTP/1.1 opens six connections; h2load with 30 streams on one
// connection opens one. (curl 7.88's --http2-prior-knowledge fails when it
// reuses a connection for parallel transfers, curl/curl#10634, fixed in
// 8.0.0; h2load from nghttp2 stands in for it.)
func TestIndependentClients(t *testing.T) {
	base := startServe(t, 50*time.Millisecond)
	for _, c := range []struct {
		name, tool  string
		args        []string
		conns, strm int
	}{
		{"curl, HTTP/1.1, 6 at a time", "curl", []string{"-sS", "-Z",
			"--parallel-max", "6", "--http1.1", "-o", "/dev/null",
			base + "/asset?i=[1-30]"}, 6, 0},
		{"h2load, one connection, 30 streams", "h2load", []string{"-n", "30",
			"-c", "1", "-m", "30", base + "/asset?i=1"}, 1, 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := exec.LookPath(c.tool); err != nil {
				t.Skipf("%s not installed", c.tool)
			}
			stats(t, base)
			out, err := exec.Command(c.tool, c.args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.tool, err, out)
			}
			st := stats(t, base)
			if st.Accepted != c.conns || st.Requests != 30 || st.Streams != c.strm {
				t.Errorf("server counted %d connections, %d requests, %d streams; "+
					"want %d, 30, %d", st.Accepted, st.Requests, st.Streams,
					c.conns, c.strm)
			}
		})
	}
}

func TestBadWork(t *testing.T) {
	base := startServe(t, 0)
	for q, want := range map[string]int{
		"ms=abc": 400, "ms=-1": 400, "ms=99999999": 400, "ms=0": 200, "": 200,
	} {
		resp, err := http.Get(base + "/asset?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /asset?%s: got %d, want %d", q, resp.StatusCode, want)
		}
	}
}
