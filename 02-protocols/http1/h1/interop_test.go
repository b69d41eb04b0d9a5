package h1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// chunkedSource hides its length, so net/http sends it chunked.
type chunkedSource struct{ r io.Reader }

func (c chunkedSource) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestNetHTTPClientToServer points net/http's client at the engine's
// server with every body kind, on one reused connection.
func TestNetHTTPClientToServer(t *testing.T) {
	var conns atomic.Int32
	addr := startServer(t, &Server{
		ConnState: func(_ net.Conn, s ConnState) {
			if s == StateNew {
				conns.Add(1)
			}
		},
		Handler: func(w *ResponseWriter, r *Request) {
			switch r.Path() {
			case "/stream":
				w.Header.Add("Trailer", "X-Count")
				for i := range 3 {
					fmt.Fprintf(w, "piece %d;", i)
					w.Flush()
				}
				w.Trailer.Add("X-Count", "3")
			case "/big":
				w.Write(bytes.Repeat([]byte("x"), 100000))
			default:
				(&recorder{}).serve(w, r)
			}
		}})
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := "http://" + addr
	check := func(name string, resp *http.Response, err error, want string) *http.Response {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(b) != want {
			t.Errorf("%s: got %d %.40q %v, want 200 %.40q", name, resp.StatusCode, b, err, want)
		}
		return resp
	}
	resp, err := client.Get(url + "/x?y=1")
	check("GET", resp, err, "hello\n")
	resp, err = client.Post(url, "text/plain", strings.NewReader("fixed body"))
	check("POST Content-Length", resp, err, "fixed body")
	req, _ := http.NewRequest("POST", url, chunkedSource{strings.NewReader("chunked body")})
	req.Trailer = http.Header{"X-Checksum": {"abc"}}
	resp, err = client.Do(req)
	resp = check("POST chunked", resp, err, "chunked body")
	if got := resp.Header.Get("X-Trailer-X-Checksum"); got != "abc" {
		t.Errorf("request trailer: server saw %q, want abc", got)
	}
	req, _ = http.NewRequest("POST", url, strings.NewReader("expected"))
	req.Header.Set("Expect", "100-continue")
	resp, err = client.Do(req)
	check("POST 100-continue", resp, err, "expected")
	resp, err = client.Get(url + "/stream")
	resp = check("chunked response", resp, err, "piece 0;piece 1;piece 2;")
	if len(resp.TransferEncoding) != 1 || resp.Trailer.Get("X-Count") != "3" {
		t.Errorf("chunked response: got TE %v trailer %v", resp.TransferEncoding, resp.Trailer)
	}
	resp, err = client.Get(url + "/big")
	check("large response", resp, err, strings.Repeat("x", 100000))
	resp, err = client.Head(url)
	if err != nil || resp.ContentLength != 6 {
		t.Errorf("HEAD: got %v length %d, want 6", err, resp.ContentLength)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("got %d connections, want every request on one", n)
	}
}

// TestClientToNetHTTPServer points the engine's client at net/http's
// server with every body kind.
func TestClientToNetHTTPServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("Trailer", "X-Seen")
			b, _ := io.ReadAll(r.Body)
			w.Write(b)
			w.Header().Set("X-Seen", r.Trailer.Get("X-Sum")+"/"+
				fmt.Sprint(r.ContentLength)+"/"+fmt.Sprint(r.TransferEncoding))
		case "/stream":
			for i := range 3 {
				fmt.Fprintf(w, "piece %d;", i)
				w.(http.Flusher).Flush()
			}
		case "/big":
			w.Write(bytes.Repeat([]byte("y"), 100000))
		case "/204":
			w.WriteHeader(204)
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		default:
			io.WriteString(w, "hello")
		}
	}))
	defer srv.Close()
	c, err := Dial(t.Context(), srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	do := func(req *Request, wantStatus int, want string) *Response {
		t.Helper()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.Target, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.Status != wantStatus || string(b) != want {
			t.Errorf("%s %s: got %d %.40q %v, want %d %.40q", req.Method,
				req.Target, resp.Status, b, err, wantStatus, want)
		}
		return resp
	}
	do(NewRequest("GET", "h", "/", nil), 200, "hello")
	resp := do(NewRequest("POST", "h", "/echo", strings.NewReader("fixed")), 200, "fixed")
	if got := resp.Trailer.Get("X-Seen"); got != "/5/[]" {
		t.Errorf("fixed body: server saw %q", got)
	}
	req := NewRequest("POST", "h", "/echo", chunkedSource{strings.NewReader("streamed")})
	req.Trailer.Add("X-Sum", "42")
	resp = do(req, 200, "streamed")
	if got := resp.Trailer.Get("X-Seen"); got != "42/-1/[chunked]" {
		t.Errorf("chunked body: server saw %q, want 42/-1/[chunked]", got)
	}
	req = NewRequest("POST", "h", "/echo", strings.NewReader("after 100"))
	req.Header.Add("Expect", "100-continue")
	do(req, 200, "after 100")
	resp = do(NewRequest("GET", "h", "/stream", nil), 200, "piece 0;piece 1;piece 2;")
	if !resp.Chunked {
		t.Errorf("stream: want a chunked response")
	}
	do(NewRequest("GET", "h", "/big", nil), 200, strings.Repeat("y", 100000))
	do(NewRequest("GET", "h", "/204", nil), 204, "")
	resp = do(NewRequest("HEAD", "h", "/", nil), 200, "")
	if resp.ContentLength != 5 {
		t.Errorf("HEAD: got length %d, want 5", resp.ContentLength)
	}
	resp = do(NewRequest("GET", "h", "/close", nil), 200, "bye")
	if !resp.Close {
		t.Errorf("Connection: close not seen")
	}
}

// TestCloseDelimitedResponse reads a body that ends when the server
// closes, as HTTP/1.0 servers send it.
func TestCloseDelimitedResponse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close")
		c.Close()
	}()
	c, err := Dial(t.Context(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Do(NewRequest("GET", "h", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if string(b) != "until close" || err != nil || !resp.Close || resp.ContentLength != -1 {
		t.Errorf("got %q %v close=%v length=%d", b, err, resp.Close, resp.ContentLength)
	}
}

// TestAdapt runs a net/http handler on the engine, including a Flush
// and a Hijack through http.ResponseController.
func TestAdapt(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		fmt.Fprintf(w, "item %s q=%s ua=%s", r.PathValue("id"),
			r.URL.Query().Get("q"), r.UserAgent())
	})
	mux.HandleFunc("POST /flush", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
		io.WriteString(w, "!")
	})
	mux.HandleFunc("GET /hijack", func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	})
	addr := startServer(t, &Server{Handler: Adapt(mux)})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	resp, err := client.Get("http://" + addr + "/items/7?q=x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "item 7 q=x ua=Go-http-client/1.1" ||
		strings.Join(resp.Header.Values("X-Multi"), ",") != "a,b" {
		t.Errorf("got %q %v", b, resp.Header)
	}
	resp, err = client.Post("http://"+addr+"/flush", "", strings.NewReader("data"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "data!" || resp.TransferEncoding == nil {
		t.Errorf("flush: got %q TE %v, want data! chunked", b, resp.TransferEncoding)
	}
	resp, err = client.Get("http://" + addr + "/hijack")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hijacked" {
		t.Errorf("hijack: got %q", b)
	}
	resp, err = client.Get("http://" + addr + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("got %d, want the mux's 404", resp.StatusCode)
	}
}
