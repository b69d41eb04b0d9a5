package rawnet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"backend-protocols/internal/kernel"
)

// echo answers with the method and target it got, and the body's length.
func echo(r *Request) Response {
	return Text(200, fmt.Sprintf("%s %s %d\n", r.Method, r.Target, len(r.Body)))
}

// startLoop serves h (or async) on a loop listening on a free port.
func startLoop(t *testing.T, cfg LoopConfig) (*Loop, *Listener) {
	t.Helper()
	ln, err := Listen("127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoop(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	l.Start()
	if err := l.AddListener(ln.FD(), false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		ln.Close()
	})
	return l, ln
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLoopServesNetHTTP is the interop test: Go's HTTP client, an
// independent implementation, talks to the loop over keep-alive.
func TestLoopServesNetHTTP(t *testing.T) {
	l, ln := startLoop(t, LoopConfig{Name: "t", Handler: echo})
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	url := "http://" + ln.Addr().String()
	for i := range 5 {
		resp, err := c.Get(fmt.Sprintf("%s/get/%d", url, i))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("GET /get/%d 0\n", i); string(b) != want ||
			resp.StatusCode != 200 || resp.Header.Get("Date") == "" {
			t.Errorf("got %d %q date %q, want 200 %q", resp.StatusCode, b,
				resp.Header.Get("Date"), want)
		}
	}
	resp, err := c.Post(url+"/orders", "application/json",
		strings.NewReader(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "POST /orders 7\n" {
		t.Errorf("POST: got %q", b)
	}
	resp, err = c.Head(url + "/h")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ContentLength != int64(len("HEAD /h 0\n")) {
		t.Errorf("HEAD: got Content-Length %d", resp.ContentLength)
	}
	// Seven requests, one connection: keep-alive held.
	if s := l.Stats(); s.Accepted != 1 || s.Requests != 7 {
		t.Errorf("got %d connections, %d requests; want 1, 7", s.Accepted, s.Requests)
	}
}

func TestLoopServesCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	_, ln := startLoop(t, LoopConfig{Name: "t", Handler: echo})
	url := "http://" + ln.Addr().String()
	for _, args := range [][]string{
		{url + "/a", url + "/b"}, // two requests, one connection
		{"--http1.0", url + "/c"},
		{"-d", "hello", url + "/d"},
	} {
		out, err := exec.Command("curl", append([]string{"-sS"}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		want := map[string]string{"/a": "GET /a 0\nGET /b 0\n",
			"/c": "GET /c 0\n", "/d": "POST /d 5\n"}
		key := args[len(args)-1][len(url):]
		if args[0] == url+"/a" {
			key = "/a"
		}
		if string(out) != want[key] {
			t.Errorf("curl %v: got %q, want %q", args, out, want[key])
		}
	}
}

// rawConn dials the loop with a plain TCP connection.
func rawConn(t *testing.T, ln *Listener) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// readResponses reads n responses with net/http's reader.
func readResponses(t *testing.T, br *bufio.Reader, n int) []string {
	t.Helper()
	var out []string
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", len(out), err)
		}
		b, _ := io.ReadAll(resp.Body)
		out = append(out, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
	return out
}

func TestLoopPipelining(t *testing.T) {
	_, ln := startLoop(t, LoopConfig{Name: "t", Handler: echo})
	c, br := rawConn(t, ln)
	var req strings.Builder
	for i := range 10 {
		fmt.Fprintf(&req, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	io.WriteString(c, req.String())
	got := readResponses(t, br, 10)
	for i, g := range got {
		if want := fmt.Sprintf("200 GET /%d 0\n", i); g != want {
			t.Errorf("response %d: got %q, want %q", i, g, want)
		}
	}
}

// TestLoopAsyncKeepsOrder answers pipelined requests out of order from
// other goroutines; the client must still get them in request order.
func TestLoopAsyncKeepsOrder(t *testing.T) {
	const n = 6
	var mu sync.Mutex
	var held []func()
	async := func(r *Request, reply func(Response)) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, func() { reply(echo(r)) })
		if len(held) == n {
			for i := n - 1; i >= 0; i-- { // last first
				go held[i]()
			}
		}
	}
	_, ln := startLoop(t, LoopConfig{Name: "t", Async: async})
	c, br := rawConn(t, ln)
	var req strings.Builder
	for i := range n {
		fmt.Fprintf(&req, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	io.WriteString(c, req.String())
	for i, g := range readResponses(t, br, n) {
		if want := fmt.Sprintf("200 GET /%d 0\n", i); g != want {
			t.Errorf("response %d: got %q, want %q", i, g, want)
		}
	}
}

// TestLoopBackpressure pipelines far more than the loop buffers before
// reading anything: the loop stops reading, the kernel's buffers fill,
// and once the client reads, every answer arrives.
func TestLoopBackpressure(t *testing.T) {
	const n = 3000
	_, ln := startLoop(t, LoopConfig{Name: "t", Handler: func(r *Request) Response {
		return Text(200, strings.Repeat("x", 1000))
	}})
	c, br := rawConn(t, ln)
	errc := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(c)
		for range n {
			io.WriteString(w, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		}
		errc <- w.Flush()
	}()
	got := readResponses(t, br, n)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(got) != n || got[n-1] != "200 "+strings.Repeat("x", 1000) {
		t.Errorf("got %d responses, want %d", len(got), n)
	}
}

func TestLoopClosesAfter(t *testing.T) {
	_, ln := startLoop(t, LoopConfig{Name: "t", Handler: echo})
	for _, c := range []struct{ name, req, want string }{
		{"Connection: close", "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
			"200 GET /a 0\n"},
		{"HTTP/1.0", "GET /a HTTP/1.0\r\n\r\n", "200 GET /a 0\n"},
		{"garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", "400 malformed request line\n"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", "400 HTTP/1.1 needs exactly one Host, got 0\n"},
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "501 Transfer-Encoding not implemented\n"},
		{"oversized", "GET /" + strings.Repeat("a", MaxHeaderBytes), "431 header section over 8192 bytes\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, br := rawConn(t, ln)
			io.WriteString(conn, c.req)
			got := readResponses(t, br, 1)
			if got[0] != c.want {
				t.Errorf("got %q, want %q", got[0], c.want)
			}
			if b, err := br.ReadByte(); err != io.EOF {
				t.Errorf("after the response: got %q, %v; want EOF", b, err)
			}
		})
	}
}

// TestLoopSurvivesBadClients resets and abandons connections mid-request
// and checks that the loop keeps serving and holds no descriptor for them.
func TestLoopSurvivesBadClients(t *testing.T) {
	l, ln := startLoop(t, LoopConfig{Name: "t", Handler: echo})
	for i := range 20 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
		if i%2 == 0 {
			c.(*net.TCPConn).SetLinger(0) // close sends RST
		}
		c.Close()
	}
	// A client that asks and leaves before reading the answer.
	c, _ := net.Dial("tcp", ln.Addr().String())
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.(*net.TCPConn).SetLinger(0)
	c.Close()

	cl, err := Dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r, err := cl.Get(context.Background(), "/still-here")
	if err != nil || string(r.Body) != "GET /still-here 0\n" {
		t.Fatalf("after bad clients: got %v, %v", r, err)
	}
	waitFor(t, "the loop to close the bad clients", func() bool {
		return l.Stats().Open == 1
	})
}

// TestLoopClosesDescriptors counts this process's descriptors before a
// loop starts and after it stops, with clients connected in between.
func TestLoopClosesDescriptors(t *testing.T) {
	before, err := kernel.FDBaseline()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoop(LoopConfig{Name: "t", Handler: echo})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	l.AddListener(ln.FD(), false)
	var clients []*Client
	for range 10 {
		c, err := Dial(context.Background(), ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(context.Background(), "/"); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	if s := l.Stats(); s.Open != 10 {
		t.Errorf("got %d open connections, want 10", s.Open)
	}
	l.Close()
	ln.Close()
	for _, c := range clients {
		// The server closed its end: the client reads EOF.
		c.Conn().SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Conn().Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("client after server stop: got %v, want EOF", err)
		}
		c.Close()
	}
	after, _ := kernel.OpenFDs()
	if after != before {
		t.Errorf("got %d descriptors open after, want %d as before", after, before)
	}
	if err := l.AddListener(ln.FD(), false); err != ErrClosed {
		t.Errorf("AddListener after Close: got %v, want ErrClosed", err)
	}
}

func TestLoopCloseBeforeStart(t *testing.T) {
	before, _ := kernel.OpenFDs()
	l, err := NewLoop(LoopConfig{Handler: echo})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	l.Start() // returns at once
	l.Close()
	if after, _ := kernel.OpenFDs(); after != before {
		t.Errorf("got %d descriptors, want %d", after, before)
	}
}

// TestAdopt hands accepted descriptors to a loop from another thread, as
// an acceptor thread does.
func TestAdopt(t *testing.T) {
	ln, err := Listen("127.0.0.1:0", ListenConfig{Blocking: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l, _ := NewLoop(LoopConfig{Handler: echo})
	l.Start()
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		for {
			fd, _, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			l.Adopt(fd)
		}
	}()
	for range 3 {
		c, err := Dial(context.Background(), ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if r, err := c.Get(context.Background(), "/x"); err != nil || r.Status != 200 {
			t.Errorf("got %v, %v", r, err)
		}
		c.Close()
	}
	ln.Shutdown() // wakes the blocked accept4
	if err := <-done; err == nil {
		t.Error("accept after Shutdown: got nil error")
	}
	if s := l.Stats(); s.Adopted != 3 || s.Accepted != 0 {
		t.Errorf("got adopted %d accepted %d, want 3 and 0", s.Adopted, s.Accepted)
	}
	u, err := l.Usage()
	if err != nil || u.Voluntary == 0 {
		t.Errorf("thread usage: got %+v, %v; want voluntary switches", u, err)
	}
}

// TestLoopSlowBody sends a large body a few bytes at a time: the loop
// waits for all of it without parsing the head again for every piece,
// and answers once.
func TestLoopSlowBody(t *testing.T) {
	l, ln := startLoop(t, LoopConfig{Name: "t", Handler: echo})
	c, br := rawConn(t, ln)
	const size = 200 << 10
	fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
	chunk := strings.Repeat("b", 1000)
	for sent := 0; sent < size; sent += len(chunk) {
		io.WriteString(c, chunk)
	}
	got := readResponses(t, br, 1)
	if want := fmt.Sprintf("200 POST /up %d\n", size); got[0] != want {
		t.Errorf("got %q, want %q", got[0], want)
	}
	if s := l.Stats(); s.Requests != 1 {
		t.Errorf("got %d requests, want 1", s.Requests)
	}
}
