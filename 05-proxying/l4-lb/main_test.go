package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"backend-protocols/05-proxying/l4-lb/clienthello"
	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

// running names the goroutines that must all be gone when a test ends:
// leak.Check also counts this process's descriptors before and after.
var running = []string{"main.(*balancer).handle", "lb.Relay", "demo.ServeConns", "lb.(*Checker)",
	"net/http.(*conn).serve"}

func TestScenario(t *testing.T) {
	leak.Check(t, running...)
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
		if !lb.Even(rr.Short, 10, names...) {
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
		if !lb.Even(res.Out, 15, "b1", "b3") || res.RefusedOut != 0 {
			t.Errorf("b2 out: got %v with %d refused dials, want 15/15 and none", res.Out, res.RefusedOut)
		}
		if !lb.Even(res.Back, 10, names...) {
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

// helloBytes returns the first flight of a crypto/tls client for name.
func helloBytes(t *testing.T, name string) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer b.Close()
	go func() {
		tls.Client(a, &tls.Config{ServerName: name}).Handshake()
		a.Close()
	}()
	_, raw, err := clienthello.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestSNIBytesUntouched sends a real ClientHello and a megabyte of random
// bytes through the router to a plain TCP backend that keeps all it
// reads, and a megabyte back: both ends must see exactly what the other
// sent. The router peeked at the hello, and changed nothing.
func TestSNIBytesUntouched(t *testing.T) {
	leak.Check(t, running...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	up, down := make([]byte, 1<<20), make([]byte, 1<<20)
	rand.Read(up)
	rand.Read(down)
	received := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		got, _ := io.ReadAll(c)
		c.Write(down)
		received <- got
	}()
	routes := map[string]*lb.Pool{"app.localhost": lb.NewPool(lb.RoundRobin,
		lb.NewTarget("app", ln.Addr().String()))}
	addr, stop, err := run(context.Background(), &balancer{name: "l4-lb", byName: routes,
		tl: timeline.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	sent := append(helloBytes(t, "app.localhost"), up...)
	go func() {
		c.Write(sent)
		c.(*net.TCPConn).CloseWrite()
	}()
	back, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := <-received; !bytes.Equal(got, sent) {
		t.Errorf("backend read %d bytes, not the %d the client sent", len(got), len(sent))
	}
	if !bytes.Equal(back, down) {
		t.Errorf("client read %d bytes, not the %d the backend sent", len(back), len(down))
	}
}

// TestBadClients sends the SNI router what a hostile or broken client
// might, and checks each is closed promptly while a good client is served.
func TestBadClients(t *testing.T) {
	leak.Check(t, running...)
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

// TestServeExternal fronts backends started elsewhere (-backends).
func TestServeExternal(t *testing.T) {
	leak.Check(t, running...)
	bs, err := lb.StartBackends(lb.BackendOptions{}, "x", "y")
	if err != nil {
		t.Fatal(err)
	}
	defer lb.CloseBackends(bs)
	addr := lb.ServeForTest(t, func(ctx context.Context, ln net.Listener) error {
		return serve(ctx, ln, timeline.Quiet(), serveConfig{Copy: "splice",
			Flags: lb.Flags{Health: time.Second, Backends: bs[0].Addr + "," + bs[1].Addr}})
	})
	c := perConnClient()
	got, err := lb.Tally(context.Background(), c, "http://"+addr+"/", 4)
	if err != nil || !lb.Even(got, 2, "x", "y") {
		t.Errorf("got %v, %v; want x and y twice each", got, err)
	}
}

func TestServe(t *testing.T) {
	leak.Check(t, running...)
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			ca, _ := certs.NewCA()
			addr := lb.ServeForTest(t, func(ctx context.Context, ln net.Listener) error {
				return serve(ctx, ln, timeline.Quiet(), serveConfig{Copy: "splice", CA: ca,
					Flags: lb.Flags{TLS: useTLS, Health: time.Second}})
			})
			tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: ca.ClientConfig(),
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					return dialer.DialContext(ctx, "tcp", addr)
				}}
			c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			base := "http://localhost"
			if useTLS {
				base = "https://localhost"
			}
			ctx := context.Background()
			got, err := lb.Tally(ctx, c, base+"/", 3)
			if err != nil || !lb.Even(got, 1, names...) {
				t.Errorf("got %v, %v; want b1 b2 b3 once each", got, err)
			}
			if useTLS {
				if name, err := lb.Fetch(ctx, c, "https://b2.localhost/"); name != "b2" || err != nil {
					t.Errorf("b2.localhost: got %q, %v; want b2 by server name", name, err)
				}
			}
		})
	}
}
