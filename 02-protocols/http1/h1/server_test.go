package h1

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSimpleExchange(t *testing.T) {
	rec := &recorder{}
	addr := startServer(t, &Server{Handler: rec.serve})
	out, closed := exchange(t, addr,
		"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2*time.Second)
	if !closed || !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") ||
		!strings.Contains(out, "\r\nContent-Length: 6\r\n") ||
		!strings.Contains(out, "\r\nConnection: close\r\n") ||
		!strings.HasSuffix(out, "\r\n\r\nhello\n") {
		t.Errorf("got %q (closed %v), want a 200 with hello and a close", out, closed)
	}
}

// TestSmuggling sends each request that two parsers could frame
// differently, followed by a request that would be smuggled if the
// server misread where the first ends. Each must get one 4xx/5xx, a
// closed connection, and no handler call at all.
func TestSmuggling(t *testing.T) {
	const next = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	cases := []struct {
		name, raw, status string
	}{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"TE and CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
			"Content-Length: 3\r\n\r\n0\r\n\r\n", "400"},
		{"differing CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n" +
			"Content-Length: 4\r\n\r\nabcd", "400"},
		{"differing CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd", "400"},
		{"CL plus sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", "400"},
		{"CL negative", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "400"},
		{"CL hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc", "400"},
		{"CL empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", "400"},
		{"CL space inside", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", "400"},
		{"TE gzip, chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "501"},
		{"TE chunked, gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", "400"},
		{"TE chunked twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"TE unknown", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", "400"},
		{"TE identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", "400"},
		{"TE chunked with params", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", "400"},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"space before colon", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", "400"},
		{"obs-fold", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", "400"},
		{"whitespace before first field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", "400"},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", "400"},
		{"bare LF line end", "GET / HTTP/1.1\nHost: x\n\n", "400"},
		{"bare LF in header", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", "400"},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", "400"},
		{"DEL in value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n", "400"},
		{"invalid name byte", "GET / HTTP/1.1\r\nHost: x\r\nX(y): z\r\n\r\n", "400"},
		{"empty name", "GET / HTTP/1.1\r\nHost: x\r\n: z\r\n\r\n", "400"},
		{"no colon", "GET / HTTP/1.1\r\nHost: x\r\nJunk\r\n\r\n", "400"},
		{"chunk size hex prefix", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", "400"},
		{"chunk size empty", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n", "400"},
		{"chunk size trailing space", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", "400"},
		{"chunk size overflow", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"fffffffffffffffff\r\nabc\r\n0\r\n\r\n", "413"},
		{"chunk data too long", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", "400"},
		{"chunk LF only", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", "400"},
		{"chunk ext bare name then space", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a \r\nabc\r\n0\r\n\r\n", "400"},
		{"chunk missing last", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nGET", "400"},
		{"chunk ext bad", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;=x\r\nabc\r\n0\r\n\r\n", "400"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", "400"},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
		{"Host with userinfo", "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", "400"},
		{"two spaces in request line", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
		{"tab in request line", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
		{"lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", "400"},
		{"HTTP/2.0 version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", "505"},
		{"invalid method", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
		{"non-ASCII target", "GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
		{"unknown expectation", "GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", "417"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			addr := startServer(t, &Server{Handler: rec.serve})
			out, closed := exchange(t, addr, tc.raw+next, 2*time.Second)
			got := statuses(out)
			if !slices.Equal(got, []string{tc.status}) || !closed {
				t.Errorf("got statuses %v (closed %v), want [%s] and a close\n%q",
					got, closed, tc.status, out)
			}
			// A chunked body is checked as the handler reads it, so
			// the handler may run (and see an error); the request
			// behind it must never be served.
			calls := rec.seen()
			if len(calls) != 0 && !(strings.HasPrefix(tc.name, "chunk") &&
				slices.Equal(calls, []string{"POST /"})) {
				t.Errorf("handler ran for %v, want no call", calls)
			}
		})
	}
}

// TestTolerated lists what the RFCs allow and the server accepts.
func TestTolerated(t *testing.T) {
	cases := []struct{ name, raw, body string }{
		{"repeated equal CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n" +
			"Content-Length: 3\r\n\r\nabc", "abc"},
		{"CL list of one value", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", "abc"},
		{"leading empty line", "\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na", "a"},
		{"TE case and spaces", "POST / HTTP/1.1\r\nHost: x\r\ntransfer-encoding:  Chunked \r\n\r\n" +
			"1\r\na\r\n0\r\n\r\n", "a"},
		{"chunk extensions", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"2 ; a=b;c ;d=\"q\\\"s\"\r\nab\r\n0;last\r\n\r\n", "ab"},
		{"upper-case hex", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"A\r\n0123456789\r\n00\r\n\r\n", "0123456789"},
		{"obs-text in value", "POST / HTTP/1.1\r\nHost: x\r\nX: caf\xc3\xa9\r\nContent-Length: 1\r\n\r\na", "a"},
		{"HTTP/1.0 without Host", "POST / HTTP/1.0\r\nContent-Length: 1\r\n\r\na", "a"},
		{"HTTP/1.2 as 1.1", "POST / HTTP/1.2\r\nHost: x\r\nContent-Length: 1\r\n\r\na", "a"},
		{"absolute-form", "POST http://x/y?z HTTP/1.1\r\nHost: other\r\nContent-Length: 1\r\n\r\na", "a"},
		{"empty Host", "POST / HTTP/1.1\r\nHost:\r\nContent-Length: 1\r\n\r\na", "a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := startServer(t, &Server{Handler: (&recorder{}).serve,
				IdleTimeout: 10 * time.Millisecond})
			out, _ := exchange(t, addr, tc.raw, 2*time.Second)
			if !strings.HasPrefix(out, "HTTP/1.1 200 ") ||
				!strings.HasSuffix(out, "\r\n\r\n"+tc.body) {
				t.Errorf("got %q, want a 200 echoing %q", out, tc.body)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	lim := Limits{MaxLine: 100, MaxHeaderBytes: 400, MaxFields: 5, MaxBody: 10}
	cases := []struct{ name, raw, status string }{
		{"long target", "GET /" + strings.Repeat("a", 200) + " HTTP/1.1\r\nHost: x\r\n\r\n", "414"},
		{"long header", "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 500) + "\r\n\r\n", "431"},
		{"many fields", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("A: b\r\n", 6) + "\r\n", "431"},
		{"large CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", "413"},
		{"huge CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", "413"},
		{"large chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", "413"},
		{"large trailer", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"0\r\nX: " + strings.Repeat("a", 500) + "\r\n\r\n", "431"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := startServer(t, &Server{Handler: (&recorder{}).serve, Limits: lim})
			out, closed := exchange(t, addr, tc.raw, 2*time.Second)
			if got := statuses(out); !slices.Equal(got, []string{tc.status}) || !closed {
				t.Errorf("got %v (closed %v), want [%s] and a close\n%q",
					got, closed, tc.status, out)
			}
		})
	}
}

// TestPipelining sends three requests in one write; the first is slow.
// The responses must come back in request order on the one connection.
func TestPipelining(t *testing.T) {
	var order []string
	var mu sync.Mutex
	addr := startServer(t, &Server{Handler: func(w *ResponseWriter, r *Request) {
		if r.Target == "/slow" {
			time.Sleep(50 * time.Millisecond) // the work being measured
		}
		mu.Lock()
		order = append(order, r.Target)
		mu.Unlock()
		io.WriteString(w, r.Target)
	}})
	c, err := Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range []string{"/slow", "/b", "/c"} {
		if err := c.WriteRequest(NewRequest("GET", "x", p, nil)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"/slow", "/b", "/c"} {
		resp, err := c.ReadResponse()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != want {
			t.Errorf("got response %q, want %q", b, want)
		}
	}
	if !slices.Equal(order, []string{"/slow", "/b", "/c"}) {
		t.Errorf("handled in order %v", order)
	}
}

// TestKeepAlive counts connections: many requests, one connection.
func TestKeepAlive(t *testing.T) {
	var conns atomic.Int32
	addr := startServer(t, &Server{Handler: (&recorder{}).serve,
		ConnState: func(_ net.Conn, s ConnState) {
			if s == StateNew {
				conns.Add(1)
			}
		}})
	c, err := Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 20 {
		var req *Request
		if i%2 == 0 {
			req = NewRequest("GET", "x", "/", nil)
		} else {
			req = NewRequest("POST", "x", "/", strings.NewReader("body"))
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.Status != 200 || resp.Close {
			t.Fatalf("request %d: got %d close=%v", i, resp.Status, resp.Close)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("got %d connections for 20 requests, want 1", n)
	}
}

func TestHTTP10(t *testing.T) {
	addr := startServer(t, &Server{Handler: func(w *ResponseWriter, r *Request) {
		if r.Target == "/stream" {
			io.WriteString(w, "part1 ")
			w.Flush()
		}
		io.WriteString(w, "done")
	}})
	// Without keep-alive the server closes after the response.
	out, closed := exchange(t, addr, "GET / HTTP/1.0\r\n\r\n", 2*time.Second)
	if !closed || !strings.Contains(out, "Connection: close") ||
		!strings.HasSuffix(out, "\r\n\r\ndone") {
		t.Errorf("1.0: got %q closed=%v", out, closed)
	}
	// With keep-alive and a known length, it keeps the connection.
	out, closed = exchange(t, addr, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		300*time.Millisecond)
	if closed || !strings.Contains(out, "Connection: keep-alive") {
		t.Errorf("1.0 keep-alive: got %q closed=%v", out, closed)
	}
	// A streamed body to a 1.0 client cannot be chunked: it ends with
	// the connection.
	out, closed = exchange(t, addr, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		2*time.Second)
	if !closed || strings.Contains(out, "chunked") || strings.Contains(out, "Content-Length") ||
		!strings.HasSuffix(out, "\r\n\r\npart1 done") {
		t.Errorf("1.0 stream: got %q closed=%v", out, closed)
	}
}

func TestHEADAndNoBodyStatuses(t *testing.T) {
	addr := startServer(t, &Server{Handler: func(w *ResponseWriter, r *Request) {
		switch r.Target {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.WriteHeader(304)
		}
		io.WriteString(w, "body!")
	}})
	out, _ := exchange(t, addr, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /204 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /304 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2*time.Second)
	if got := statuses(out); !slices.Equal(got, []string{"200", "204", "304"}) {
		t.Fatalf("got %v, want [200 204 304]\n%q", got, out)
	}
	if strings.Contains(out, "body!") {
		t.Errorf("a body was sent: %q", out)
	}
	if !strings.Contains(out, "Content-Length: 5\r\n") {
		t.Errorf("HEAD: want the GET's Content-Length: %q", out)
	}
	if n := strings.Count(out, "Content-Length"); n != 1 {
		t.Errorf("got %d Content-Length fields, want 1 (HEAD only): %q", n, out)
	}
}

// TestChunkedResponse streams a body in flushed pieces and checks the
// framing and the trailer on the wire.
func TestChunkedResponse(t *testing.T) {
	addr := startServer(t, &Server{Handler: func(w *ResponseWriter, r *Request) {
		w.Header.Add("Trailer", "X-Sum")
		for _, p := range []string{"one", "two", "three"} {
			io.WriteString(w, p)
			w.Flush()
		}
		w.Trailer.Add("X-Sum", "11")
	}})
	out, _ := exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		2*time.Second)
	want := "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
		"3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\nX-Sum: 11\r\n\r\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("got %q, want it to end %q", out, want)
	}
}

func TestExpectContinue(t *testing.T) {
	addr := startServer(t, &Server{Handler: func(w *ResponseWriter, r *Request) {
		if r.Target == "/no" {
			w.WriteHeader(403) // refuses without reading the body
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := br.ReadString('\n')
	if line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q %v, want 100 Continue before the body", line, err)
	}
	br.ReadString('\n')
	io.WriteString(c, "data")
	rd := NewReader(br, Limits{})
	resp, err := rd.ReadResponse("POST")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.Status != 200 || string(b) != "data" {
		t.Errorf("got %d %q, want 200 data", resp.Status, b)
	}
	// Refused: a final status, no 100, and the connection closes since
	// the client may or may not send the body.
	fmt.Fprintf(c, "POST /no HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
	resp, err = rd.ReadResponse("POST")
	if err != nil || resp.Status != 403 || !resp.Close {
		t.Errorf("got %v close=%v %v, want 403 and a close", resp.Status, resp.Close, err)
	}
	// The client side does the same dance.
	cc, err := Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	req := NewRequest("POST", "x", "/", strings.NewReader("ping"))
	req.Header.Add("Expect", "100-continue")
	cc.ExpectTimeout = 10 * time.Second // the 100 must come long before
	start := time.Now()
	r2, err := cc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(r2.Body)
	if string(b) != "ping" || time.Since(start) > 5*time.Second {
		t.Errorf("client expect: got %q after %v", b, time.Since(start))
	}
}

// TestSlowLoris holds one client that trickles its header a byte at a
// time while fast clients keep making requests: the slow one is cut off
// at the header timeout, the fast ones never notice.
func TestSlowLoris(t *testing.T) {
	const headerTimeout = 300 * time.Millisecond
	addr := startServer(t, &Server{Handler: (&recorder{}).serve,
		HeaderTimeout: headerTimeout})
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slowDone := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		defer func() { slowDone <- time.Since(start) }()
		for _, c := range []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " +
			strings.Repeat("a", 100)) {
			if _, err := slow.Write([]byte{c}); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond) // the slowness under test
		}
	}()
	var lat []time.Duration
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 8 {
		wg.Go(func() {
			c, err := Dial(t.Context(), addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for range 25 {
				t0 := time.Now()
				resp, err := c.Do(NewRequest("GET", "x", "/", nil))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	out, _ := io.ReadAll(slow)
	cut := time.Since(start)
	if !strings.HasPrefix(string(out), "HTTP/1.1 408 ") {
		t.Errorf("slow client got %q, want a 408 and a close", out)
	}
	if cut < headerTimeout || cut > headerTimeout+2*time.Second {
		t.Errorf("slow client cut off after %v, want about %v", cut, headerTimeout)
	}
	slices.Sort(lat)
	if p90 := lat[len(lat)*9/10]; len(lat) != 200 || p90 > headerTimeout {
		t.Errorf("got %d fast requests, p90 %v; want 200, well under the slow client's %v",
			len(lat), p90, headerTimeout)
	}
	slow.Close()
	<-slowDone
}

func TestIdleTimeout(t *testing.T) {
	addr := startServer(t, &Server{Handler: (&recorder{}).serve,
		IdleTimeout: 100 * time.Millisecond})
	c, err := Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Do(NewRequest("GET", "x", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	start := time.Now()
	c.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.NetConn().Read(make([]byte, 1))
	if n != 0 || err != io.EOF {
		t.Errorf("got %d, %v; want EOF from the idle close", n, err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 3*time.Second {
		t.Errorf("idle connection closed after %v, want about 100ms", d)
	}
}

// TestSlowBody stops a client that sends its body too slowly.
func TestSlowBody(t *testing.T) {
	var gotErr atomic.Value
	addr := startServer(t, &Server{BodyTimeout: 200 * time.Millisecond,
		Handler: func(w *ResponseWriter, r *Request) {
			_, err := io.ReadAll(r.Body)
			gotErr.Store(fmt.Sprint(err))
		}})
	out, closed := exchange(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab",
		3*time.Second)
	if !closed || !strings.Contains(fmt.Sprint(gotErr.Load()), "timeout") {
		t.Errorf("got %q closed=%v handler err %v; want a timeout and a close",
			out, closed, gotErr.Load())
	}
}

func TestHandlerPanicAnd500(t *testing.T) {
	var logged atomic.Int32
	addr := startServer(t, &Server{
		ErrorLog: func(string, error) { logged.Add(1) },
		Handler: func(w *ResponseWriter, r *Request) {
			switch r.Target {
			case "/panic":
				panic("boom")
			case "/split":
				w.Header.Add("X-Evil", "a\r\nSet-Cookie: x=y")
			}
			io.WriteString(w, "ok")
		}})
	out, closed := exchange(t, addr, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n", 2*time.Second)
	if got := statuses(out); !slices.Equal(got, []string{"500"}) || !closed || logged.Load() != 1 {
		t.Errorf("panic: got %v closed=%v logged=%d", got, closed, logged.Load())
	}
	out, _ = exchange(t, addr, "GET /split HTTP/1.1\r\nHost: x\r\n\r\n", 2*time.Second)
	if got := statuses(out); !slices.Equal(got, []string{"500"}) || strings.Contains(out, "Set-Cookie") {
		t.Errorf("response splitting: got %q, want a 500 without the injected field", out)
	}
	// The server still serves.
	out, _ = exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2*time.Second)
	if !strings.HasSuffix(out, "ok") {
		t.Errorf("after the panic: got %q", out)
	}
}

func TestShutdownWaitsForActive(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	s := &Server{Handler: func(w *ResponseWriter, r *Request) {
		if r.Target == "/hold" {
			close(started)
			<-release
		}
		io.WriteString(w, "done")
	}}
	addr := startServer(t, s)
	idle, err := Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	resp, err := idle.Do(NewRequest("GET", "x", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	busy, err := Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	got := make(chan string, 1)
	go func() {
		resp, err := busy.Do(NewRequest("GET", "x", "/hold", nil))
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		got <- fmt.Sprintf("%s close=%v", b, resp.Close)
	}()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(t.Context()) }()
	// The idle connection is closed at once.
	idle.NetConn().SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idle.NetConn().Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: got %v, want EOF", err)
	}
	close(release)
	if g := <-got; g != "done close=true" {
		t.Errorf("active request got %q, want done close=true", g)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestShutdownLeavesHijacked: a hijacked connection (a WebSocket) is
// its handler's; Shutdown neither waits for it nor closes it.
func TestShutdownLeavesHijacked(t *testing.T) {
	release := make(chan struct{})
	hijacked := make(chan net.Conn, 1)
	s := &Server{Handler: func(w *ResponseWriter, r *Request) {
		nc, _, err := w.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		hijacked <- nc
		<-release
		io.WriteString(nc, "still mine")
		nc.Close()
	}}
	addr := startServer(t, s)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-hijacked
	start := time.Now()
	if err := s.Shutdown(t.Context()); err != nil || time.Since(start) > time.Second {
		t.Errorf("Shutdown: %v after %v, want nil at once", err, time.Since(start))
	}
	close(release)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if b, _ := io.ReadAll(c); string(b) != "still mine" {
		t.Errorf("got %q, want the handler's bytes after shutdown", b)
	}
}
