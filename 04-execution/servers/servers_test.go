package servers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timing"
)

// every returns every architecture, plus multi-acceptor without
// EPOLLEXCLUSIVE.
func every() []Kind {
	ks := Kinds(3)
	return append(ks, Kind{"multi-acceptor (plain)", func(a string) (Server, error) {
		return StartMultiAcceptor(a, 3, false, App("multi-acceptor"))
	}})
}

// TestArchitectures runs each server through an independent client
// (net/http), curl, pipelining, bad clients and concurrent load, and checks
// that closing it leaves no descriptor open.
func TestArchitectures(t *testing.T) {
	for _, k := range every() {
		t.Run(k.Name, func(t *testing.T) {
			before, err := kernel.FDBaseline()
			if err != nil {
				t.Fatal(err)
			}
			s, err := k.Start("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			exercise(t, s)
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			s.Close() // a second Close is harmless
			if after, _ := kernel.OpenFDs(); after != before {
				t.Errorf("got %d descriptors open after Close, want %d", after, before)
			}
		})
	}
}

func exercise(t *testing.T, s Server) {
	url := "http://" + s.Addr()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/", 200, "hello from "},
		{"GET", "/prime?n=97", 200, "97 is prime\n"},
		{"GET", "/prime?n=91", 200, "91 is not prime\n"},
		{"GET", "/prime?n=x", 400, "want /prime?n=N"},
		{"GET", "/nope", 404, "not found"},
		{"POST", "/", 405, "method not allowed"},
	} {
		req, _ := http.NewRequest(c.method, url+c.path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.HasPrefix(string(b), c.body) {
			t.Errorf("%s %s: got %d %q, want %d %q", c.method, c.path,
				resp.StatusCode, b, c.status, c.body)
		}
	}
	if _, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command("curl", "-sS", url+"/", url+"/prime?n=7").Output()
		if err != nil || !strings.Contains(string(out), "7 is prime") {
			t.Errorf("curl: got %q, %v", out, err)
		}
	}

	// Pipelined requests come back in order.
	c, err := rawnet.Dial(context.Background(), s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{"/prime?n=2", "/prime?n=4", "/prime?n=5", "/", "/prime?n=9"}
	rs, err := c.Pipeline(context.Background(), targets...)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"2 is prime", "4 is not", "5 is prime", "hello", "9 is not"} {
		if !strings.HasPrefix(string(rs[i].Body), want) {
			t.Errorf("pipelined %s: got %q, want %q", targets[i], rs[i].Body, want)
		}
	}

	// Garbage gets 400 and a close; resets and half requests are shrugged off.
	g, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	g.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(g, "\x16\x03\x01\x00\x05hello\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(g), nil)
	g.Close()
	if err != nil || resp.StatusCode != 400 {
		t.Errorf("garbage: got %v, %v; want 400", resp, err)
	}
	for i := range 10 {
		r, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(r, "GET /prime?n=7 HTTP/1.1\r\nHost: x\r\nContent-Le")
		if i%2 == 0 {
			r.(*net.TCPConn).SetLinger(0)
		}
		r.Close()
	}

	// Concurrent keep-alive load: every request answered.
	res, err := Load(context.Background(), s.Addr(), LoadConfig{Conns: 16,
		Duration: 150 * time.Millisecond})
	if err != nil || res.Errors > 0 || res.Requests < 16 {
		t.Errorf("load: got %d requests, %d errors (%v), %v", res.Requests, res.Errors,
			res.FirstError, err)
	}
}

// TestMultiReaderRoundRobin checks that the acceptor hands connections to
// the readers in turn.
func TestMultiReaderRoundRobin(t *testing.T) {
	s, err := StartMultiReader("127.0.0.1:0", 3, App("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 7 {
		c, err := rawnet.Dial(context.Background(), s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(context.Background(), "/"); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	got := fmt.Sprint(s.Handed[0].Load(), s.Handed[1].Load(), s.Handed[2].Load())
	if got != "3 2 2" {
		t.Errorf("got connections per reader %s, want 3 2 2", got)
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 1s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   205.32us  301.11us   9.87ms   95.12%
    Req/Sec    80.12k     5.01k   90.00k    70.00%
  Latency Distribution
     50%  150.00us
     75%  210.00us
     90%  330.00us
     99%    1.52ms
  159880 requests in 1.00s, 19.36MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 159721.33
Transfer/sec:     19.34MB
`
	r, err := ParseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.P50 != 150*time.Microsecond || r.P99 != 1520*time.Microsecond ||
		r.Throughput != 159721.33 || r.Requests != 159880 || r.Errors != 7 {
		t.Errorf("got %+v", r)
	}
	if _, err := ParseWrk("wrk: nonsense"); err == nil {
		t.Error("nonsense: got no error")
	}
}

// TestRunWrk loads a server with the real wrk, where it is installed.
func TestRunWrk(t *testing.T) {
	s, err := StartSingleThread("127.0.0.1:0", App("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := RunWrk(context.Background(), "http://"+s.Addr()+"/", 1, 8, time.Second)
	if err == ErrNoWrk {
		t.Skip("wrk not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.Errors != 0 || r.P50 <= 0 {
		t.Errorf("got %+v, want requests and no errors", r)
	}
}

// BenchmarkPatterns serves GET / with each architecture and with
// net/http, under the same keep-alive load in one run:
//
//	go test -bench Patterns ./04-execution/servers
func BenchmarkPatterns(b *testing.B) {
	for _, k := range Kinds(2) {
		b.Run(k.Name, func(b *testing.B) {
			s, err := k.Start("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			const conns = 16
			clients := make([]*rawnet.Client, conns)
			for i := range clients {
				if clients[i], err = rawnet.Dial(ctx, s.Addr()); err != nil {
					b.Fatal(err)
				}
				defer clients[i].Close()
			}
			b.ResetTimer()
			res, err := drive(ctx, clients, "/", timing.Load{Workers: conns, Requests: b.N})
			b.StopTimer()
			if err != nil || res.Errors > 0 {
				b.Fatalf("%v, %d errors: %v", err, res.Errors, res.FirstError)
			}
			b.ReportMetric(res.Throughput, "req/s")
			b.ReportMetric(float64(res.Latency.P99.Microseconds()), "p99-µs")
		})
	}
}
