package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
var running = []string{"net/http.(*conn).serve", "net/http.(*persistConn)",
	"httputil.(*ReverseProxy)", "net/http.(*http2serverConn)"}

func TestScenario(t *testing.T) {
	leak.Check(t, running...)
	res, err := scenario(context.Background(), timeline.Quiet(), config{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("origin", func(t *testing.T) {
		if res.ClientProto != "HTTP/2.0" {
			t.Errorf("client spoke %s, want HTTP/2.0", res.ClientProto)
		}
		for _, want := range []string{"GET /headers HTTP/1.1\n", "Host: " + res.Host + "\n",
			"X-Forwarded-For: 127.0.0.1\n", "X-Forwarded-Proto: https\n",
			"X-Forwarded-Host: " + res.Host + "\n",
			`Forwarded: for=127.0.0.1;host="` + res.Host + `";proto=https` + "\n"} {
			if !strings.Contains(res.BackendSaw, want) {
				t.Errorf("backend saw:\n%s\nwant %q", res.BackendSaw, want)
			}
		}
		if res.Spread["b1"] != 20 || res.Spread["b2"] != 20 || res.Spread["b3"] != 20 {
			t.Errorf("got %v, want 20 each", res.Spread)
		}
		if res.ClientConns != 1 || res.BackendConns != 3 {
			t.Errorf("got %d client and %d backend connections, want 1 and 3", res.ClientConns, res.BackendConns)
		}
	})
	t.Run("cache", func(t *testing.T) {
		if strings.Join(res.Cache, " ") != "MISS HIT HIT MISS" {
			t.Errorf("got %v, want MISS HIT HIT MISS", res.Cache)
		}
		r := res.CacheRenders
		if len(r) != 4 || r[0] != r[1] || r[1] != r[2] || r[3] == r[0] {
			t.Errorf("got renders %q, want the first served three times, then a new one", r)
		}
		if res.CacheAge != "0" {
			t.Errorf("got Age %q, want 0", res.CacheAge)
		}
	})
	t.Run("events flushed", func(t *testing.T) {
		e := res.Events
		if len(e) != 3 {
			t.Fatalf("got %d events, want 3", len(e))
		}
		// Buffered, all three would arrive together at the end; flushed,
		// the first arrives two gaps before the last.
		if e[2]-e[0] < res.EventGap {
			t.Errorf("events arrived at %v, want each as sent, %v apart", e, res.EventGap)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		if !strings.HasSuffix(res.WSReply, " echoes: hello") {
			t.Errorf("got %q, want a backend's echo", res.WSReply)
		}
	})
	t.Run("502 and 504", func(t *testing.T) {
		if res.Down != http.StatusBadGateway {
			t.Errorf("backend down: got %d, want 502", res.Down)
		}
		if res.Slow != http.StatusGatewayTimeout || res.SlowAfter > 3*time.Second {
			t.Errorf("slow backend: got %d after %v, want 504 after about 200ms", res.Slow, res.SlowAfter)
		}
	})
}

func TestForwarded(t *testing.T) {
	cases := []struct{ remote, host, want string }{
		{"127.0.0.1:5000", "shop", "for=127.0.0.1;host=shop;proto=http"},
		{"[::1]:5000", "shop:8080", `for="[::1]";host="shop:8080";proto=http`},
		{"10.0.0.1:1", `we"ird`, `for=10.0.0.1;host="we\"ird";proto=http`},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr, r.Host = c.remote, c.host
		if got := forwarded(r); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}

// TestBadInput: a malformed request gets 400; clients that vanish in the
// middle of an event stream or a slow request free everything they held.
func TestBadInput(t *testing.T) {
	leak.Check(t, running...)
	addr := lb.ServeForTest(t, func(ctx context.Context, ln net.Listener) error {
		return serve(ctx, ln, timeline.Quiet(), config{Timeout: 10 * time.Second}, false, nil)
	})
	send := func(req string) (net.Conn, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, req)
		line, _ := bufio.NewReader(c).ReadString('\n')
		return c, line
	}
	c, line := send("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n")
	c.Close()
	if !strings.HasPrefix(line, "HTTP/1.1 400") {
		t.Errorf("malformed request line: got %q, want 400", line)
	}
	for _, path := range []string{"/events?n=100&every=10ms", "/slow?for=10s"} {
		for range 5 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
			time.Sleep(20 * time.Millisecond)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}
	c, line = send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.Close()
	if !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Errorf("after the bad clients: got %q, want 200", line)
	}
}

func TestServeTLS(t *testing.T) {
	leak.Check(t, running...)
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	addr := lb.ServeForTest(t, func(ctx context.Context, ln net.Listener) error {
		return serve(ctx, ln, timeline.Quiet(), config{Timeout: time.Second}, true, ca)
	})
	tr := &http.Transport{TLSClientConfig: ca.ClientConfig(), ForceAttemptHTTP2: true}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + addr + "/headers")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tr.CloseIdleConnections()
	if resp.Proto != "HTTP/2.0" || !strings.Contains(string(body), "X-Forwarded-Proto: https") {
		t.Errorf("got %s and\n%s\nwant HTTP/2.0 and X-Forwarded-Proto: https", resp.Proto, body)
	}
}
