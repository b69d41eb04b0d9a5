package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

// noLeaks checks, when the test ends, that no connection handler, relay
// or health check is still running and that the process has no more
// descriptors open than when the test began.
func noLeaks(t *testing.T) {
	t.Helper()
	before, err := leak.FDs()
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	t.Cleanup(func() {
		left := leak.Gone(5*time.Second, "main.(*balancer).handle", "lb.Relay",
			"lb.ServeTCP", "lb.(*Checker)", "net/http.(*conn).serve")
		if len(left) > 0 {
			t.Errorf("goroutines left:\n%s", strings.Join(left, "\n\n"))
		}
		if n, _ := leak.FDsAtMost(5*time.Second, before); n > before {
			t.Errorf("got %d descriptors open, want %d as before the test", n, before)
		}
	})
}

func even(m map[string]int, names []string, each int) bool {
	for _, n := range names {
		if m[n] != each {
			return false
		}
	}
	return len(m) == len(names)
}

func TestScenario(t *testing.T) {
	noLeaks(t)
	res, err := scenario(context.Background(), timeline.Quiet(),
		config{Health: 10 * time.Millisecond, Bulk: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("keep-alive pins one backend", func(t *testing.T) {
		if len(res.KeepAlive) != 1 || res.KeepAliveConns != 1 {
			t.Errorf("100 requests on one connection: got %v over %d connections, want one backend, one connection",
				res.KeepAlive, res.KeepAliveConns)
		}
		got := slices.Sorted(maps.Values(res.PerConn))
		if !slices.Equal(got, []int{33, 33, 34}) {
			t.Errorf("100 connections: got %v, want 34/33/33", res.PerConn)
		}
	})
	t.Run("least-conn steers around held connections", func(t *testing.T) {
		rr, lc := res.Held[lb.RoundRobin], res.Held[lb.LeastConn]
		if !even(rr.Short, names, 10) {
			t.Errorf("round-robin: got %v, want 10 each", rr.Short)
		}
		if len(lc.HeldOn) != 2 || len(lc.Short) != 1 {
			t.Fatalf("least-conn: held on %v, short ones %v; want all short on the third", lc.HeldOn, lc.Short)
		}
		for n, c := range lc.Short {
			if slices.Contains(lc.HeldOn, n) || c != 30 {
				t.Errorf("least-conn: got %d short on %s, held on %v; want 30 on the idle one", c, n, lc.HeldOn)
			}
		}
	})
	t.Run("half-close", func(t *testing.T) {
		if res.HalfClose != "sink read 1000000 bytes\n" {
			t.Errorf("got %q, want the sink's count after our FIN", res.HalfClose)
		}
	})
	t.Run("health checks", func(t *testing.T) {
		if res.Down["b2"] != 0 || res.Down["b1"]+res.Down["b3"] != 30 || res.Refused < 5 {
			t.Errorf("b2 stopped: got %v with %d refused dials; want all on b1 and b3, about 10 refused",
				res.Down, res.Refused)
		}
		if !even(res.Out, []string{"b1", "b3"}, 15) || res.RefusedOut != 0 {
			t.Errorf("b2 out: got %v with %d refused dials, want 15/15 and none", res.Out, res.RefusedOut)
		}
		if !even(res.Back, names, 10) {
			t.Errorf("b2 back: got %v, want 10 each", res.Back)
		}
	})
	t.Run("splice", func(t *testing.T) {
		s := res.Splice
		if s.Bytes == 0 {
			t.Skip("no /proc/self/io")
		}
		// Through read() and write(): the client's reads and the
		// backend's writes, plus 10% slack; the user-space loop adds the
		// balancer's own copy of every byte.
		if s.Kernel.ReadBytes > s.Bytes*11/10 || s.Kernel.WriteBytes > s.Bytes*11/10 {
			t.Errorf("io.Copy: got %d read and %d written in user space, want about %d each",
				s.Kernel.ReadBytes, s.Kernel.WriteBytes, s.Bytes)
		}
		if s.User.ReadBytes < s.Bytes*19/10 || s.User.WriteBytes < s.Bytes*19/10 {
			t.Errorf("read/write loop: got %d read and %d written, want about %d each",
				s.User.ReadBytes, s.User.WriteBytes, 2*s.Bytes)
		}
	})
	t.Run("sni", func(t *testing.T) {
		for _, app := range []string{"app1", "app2"} {
			if got := res.SNI[app+".localhost"]; got.Backend != app || got.Proto != "HTTP/2.0" {
				t.Errorf("%s.localhost: got %+v, want %s over HTTP/2 end to end", app, got, app)
			}
		}
		if res.UnknownName == nil || !strings.Contains(res.UnknownName.Error(), "unrecognized name") {
			t.Errorf("unknown name: got %v, want the unrecognized_name alert", res.UnknownName)
		}
		if res.PlainBytes != "" || res.PlainHTTP != nil {
			t.Errorf("plain HTTP: got %q, %v; want a clean close", res.PlainBytes, res.PlainHTTP)
		}
	})
}

// tee records what passes through a connection in each direction.
type tee struct {
	net.Conn
	mu      sync.Mutex
	in, out bytes.Buffer
}

func (c *tee) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.in.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

func (c *tee) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.mu.Lock()
	c.out.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

func (c *tee) streams() (in, out []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.in.Bytes()), bytes.Clone(c.out.Bytes())
}

type teeListener struct {
	net.Listener
	conns chan *tee
}

func (l teeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &tee{Conn: c}
	l.conns <- tc
	return tc, nil
}

// TestSNIBytesUntouched records every byte the client sends and receives
// and every byte the TLS backend reads and writes, and checks that the
// two streams are identical: the router peeked, but changed nothing.
func TestSNIBytesUntouched(t *testing.T) {
	noLeaks(t)
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ca.ServerConfig("app.localhost")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	backendConns := make(chan *tee, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello through the router\n")
	}), TLSConfig: conf}
	go srv.ServeTLS(teeListener{raw, backendConns}, "", "")
	defer srv.Close()

	routes := map[string]*lb.Pool{"app.localhost": lb.NewPool(lb.RoundRobin,
		lb.NewTarget("app", raw.Addr().String()))}
	addr, stop, err := run(context.Background(), &balancer{name: "l4-lb", byName: routes,
		tl: timeline.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	var client *tee
	tr := &http.Transport{TLSClientConfig: ca.ClientConfig(),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, "tcp", addr)
			if err == nil {
				client = &tee{Conn: c}
				c = client
			}
			return c, err
		}}
	resp, err := (&http.Client{Transport: tr}).Get("https://app.localhost/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tr.CloseIdleConnections()
	if string(body) != "hello through the router\n" {
		t.Fatalf("got %q", body)
	}
	backend := <-backendConns
	// The backend may still be reading the client's close_notify.
	deadline := time.Now().Add(5 * time.Second)
	for {
		cin, cout := client.streams()
		bin, bout := backend.streams()
		// The client hangs up without reading the backend's last record
		// (its close_notify): what it read must begin what was sent.
		if bytes.Equal(cout, bin) && len(cin) > 0 && bytes.HasPrefix(bout, cin) {
			t.Logf("%d bytes client -> backend identical at both ends; %d of %d back",
				len(cout), len(cin), len(bout))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("streams differ: client sent %d bytes, backend read %d; backend sent %d, client read %d",
				len(cout), len(bin), len(bout), len(cin))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBadClients sends the SNI router what a hostile or broken client
// might, and checks each is closed promptly while a good client is served.
func TestBadClients(t *testing.T) {
	noLeaks(t)
	b, err := lb.StartBackend("b1", lb.BackendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	routes := map[string]*lb.Pool{"x": lb.NewPool(lb.RoundRobin, lb.NewTarget("b1", b.Addr))}
	addr, stop, err := run(context.Background(), &balancer{name: "l4-lb", byName: routes,
		tl: timeline.Quiet(), helloWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	cases := map[string][]byte{
		"garbage":          []byte("\x16\x03\x01\xff\xff and then nonsense"),
		"half a hello":     {22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3},
		"silent":           nil,
		"oversized record": {22, 3, 1, 0x7f, 0xff},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(in)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			start := time.Now()
			n, err := io.Copy(io.Discard, c)
			if err != nil || n != 0 || time.Since(start) > 3*time.Second {
				t.Errorf("got %d bytes, %v after %v; want a prompt close", n, err, time.Since(start))
			}
		})
	}
	// A client that vanishes mid-tunnel: reset after the hello.
	ca, _ := certs.NewCA()
	conf := ca.ClientConfig()
	conf.ServerName = "x"
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(c, conf)
	tc.SetDeadline(time.Now().Add(time.Second))
	tc.Handshake() // the backend speaks plain HTTP: it fails, after the relay began
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
}

func TestServe(t *testing.T) {
	noLeaks(t)
	for _, useTLS := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ca, _ := certs.NewCA()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- serve(ctx, ln, timeline.Quiet(), serveConfig{Policy: lb.RoundRobin,
				Copy: "splice", TLS: useTLS, Health: time.Second, CA: ca})
		}()
		tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: ca.ClientConfig(),
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "tcp", ln.Addr().String())
			}}
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		base := "http://localhost"
		if useTLS {
			base = "https://localhost"
		}
		got, err := lb.Tally(ctx, c, base+"/", 3)
		if err != nil || !even(got, names, 1) {
			t.Errorf("tls=%v: got %v, %v; want b1 b2 b3 once each", useTLS, got, err)
		}
		if useTLS {
			if name, err := lb.Fetch(ctx, c, "https://b2.localhost/"); name != "b2" || err != nil {
				t.Errorf("b2.localhost: got %q, %v; want b2 by server name", name, err)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}
