package h1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"testing"
)

func readReq(t *testing.T, raw string) (*Request, string, error) {
	t.Helper()
	rd := NewReader(strings.NewReader(raw), Limits{})
	req, err := rd.ReadRequest()
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(req.Body)
	return req, string(b), err
}

// TestRFCRequestTargets parses the four forms of request-target with the
// examples of RFC 9112 section 3.2.
func TestRFCRequestTargets(t *testing.T) {
	cases := []struct {
		raw, method, target, host, path, query string
	}{
		{"GET /where?q=now HTTP/1.1\r\nHost: www.example.org\r\n\r\n",
			"GET", "/where?q=now", "www.example.org", "/where", "q=now"},
		{"GET http://www.example.org/pub/WWW/TheProject.html HTTP/1.1\r\nHost: ignored\r\n\r\n",
			"GET", "http://www.example.org/pub/WWW/TheProject.html", "www.example.org",
			"/pub/WWW/TheProject.html", ""},
		{"CONNECT www.example.com:80 HTTP/1.1\r\nHost: www.example.com:80\r\n\r\n",
			"CONNECT", "www.example.com:80", "www.example.com:80", "www.example.com:80", ""},
		{"OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n",
			"OPTIONS", "*", "www.example.org:8001", "*", ""},
		{"OPTIONS http://www.example.org:8001 HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n",
			"OPTIONS", "http://www.example.org:8001", "www.example.org:8001", "/", ""},
	}
	for _, tc := range cases {
		req, _, err := readReq(t, tc.raw)
		if err != nil {
			t.Errorf("%q: %v", tc.raw, err)
			continue
		}
		if req.Method != tc.method || req.Target != tc.target || req.Host != tc.host ||
			req.Path() != tc.path || req.Query() != tc.query {
			t.Errorf("%q: got %s %s host %s path %s query %s", tc.raw, req.Method,
				req.Target, req.Host, req.Path(), req.Query())
		}
	}
}

func TestFieldsKeepOrderAndCase(t *testing.T) {
	req, _, err := readReq(t, "GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\n"+
		"X-Tab:\t tabbed \t\r\naccept:  b\r\nConnection: keep-alive, Close\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Values("ACCEPT"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("got Accept %q, want [a b]", got)
	}
	if got := req.Header.Get("x-tab"); got != "tabbed" {
		t.Errorf("got %q, want whitespace trimmed", got)
	}
	if !req.Close || req.Header[2].Name != "X-Tab" {
		t.Errorf("got close=%v fields %v", req.Close, req.Header)
	}
}

// TestChunkedBody decodes a chunked body with extensions and trailers,
// built after RFC 9112 section 7.1.
func TestChunkedBody(t *testing.T) {
	req, body, err := readReq(t, "POST / HTTP/1.1\r\nHost: x\r\n"+
		"Transfer-Encoding: chunked\r\nTrailer: Expires\r\n\r\n"+
		"5;name=value\r\nHello\r\n7\r\n, World\r\n"+
		"0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if body != "Hello, World" || !req.Chunked || req.ContentLength != -1 ||
		req.Trailer.Get("Expires") != "Wed, 21 Oct 2015 07:28:00 GMT" {
		t.Errorf("got %q chunked=%v trailer %v", body, req.Chunked, req.Trailer)
	}
}

func TestReadResponseStatusLines(t *testing.T) {
	good := map[string]int{
		"HTTP/1.1 200 OK\r\n\r\n":                                200,
		"HTTP/1.1 404 \r\n\r\n":                                  404,
		"HTTP/1.1 204\r\n\r\n":                                   204,
		"HTTP/1.0 200 Fine, thanks\r\nContent-Length: 0\r\n\r\n": 200,
	}
	for raw, want := range good {
		resp, err := NewReader(strings.NewReader(raw), Limits{}).ReadResponse("GET")
		if err != nil || resp.Status != want {
			t.Errorf("%q: got %v, want %d", raw, err, want)
		}
	}
	for _, raw := range []string{"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 200 O\x00K\r\n\r\n", "ICY 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"} {
		if _, err := NewReader(strings.NewReader(raw), Limits{}).ReadResponse("GET"); err == nil {
			t.Errorf("%q: accepted, want an error", raw)
		}
	}
}

// TestReadRequestAllocations holds the parser to its design: a request
// head costs two allocations, the Request and the string of its fields.
func TestReadRequestAllocations(t *testing.T) {
	raw := []byte(browserGET)
	src := bytes.NewReader(raw)
	rd := NewReader(src, Limits{})
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(raw)
		rd.Reset(src)
		if _, err := rd.ReadRequest(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("got %v allocations per request, want at most 2", allocs)
	}
}

// seeds are requests for the fuzzers: RFC examples, and the ones the
// server tests refuse or tolerate.
var seeds = []string{
	"GET /where?q=now HTTP/1.1\r\nHost: www.example.org\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\nX: y\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
	"GET / HTTP/1.1\nHost: x\n\n",
	"POST / HTTP/1.0\r\nContent-Length: 2, 2\r\n\r\nab",
	"\r\nGET http://a/b HTTP/1.1\r\nHost: c\r\n\r\n",
	browserGET,
}

// FuzzReadRequest feeds the parser arbitrary bytes. It must not panic or
// hang, and where both it and net/http accept a request they must agree
// on the method, the target and every byte of the body: the property
// that rules out smuggling between the two.
func FuzzReadRequest(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxLine: 256, MaxHeaderBytes: 1024, MaxFields: 20, MaxBody: 4096}
		req, err := NewReader(bytes.NewReader(data), lim).ReadRequest()
		if err != nil {
			return
		}
		body, berr := io.ReadAll(req.Body)
		for _, f := range req.Header {
			if !validToken(f.Name) || !validValue(f.Value) {
				t.Fatalf("accepted invalid field %q: %q", f.Name, f.Value)
			}
		}
		hr, herr := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if herr != nil {
			return
		}
		hbody, hberr := io.ReadAll(hr.Body)
		if hr.Method != req.Method || hr.RequestURI != req.Target {
			t.Fatalf("net/http read %s %s, h1 read %s %s", hr.Method,
				hr.RequestURI, req.Method, req.Target)
		}
		if berr == nil && hberr == nil && !bytes.Equal(body, hbody) {
			t.Fatalf("bodies differ: net/http %q, h1 %q", hbody, body)
		}
	})
}

// FuzzChunked decodes arbitrary chunked bodies; whatever the engine
// accepts, net/http's chunked reader must decode to the same bytes.
func FuzzChunked(f *testing.F) {
	f.Add([]byte("3;a=b\r\nabc\r\n0\r\nX: y\r\n\r\n"))
	f.Add([]byte("A\r\n0123456789\r\n00\r\n\r\n"))
	f.Add([]byte("3 \r\nabc\r\n0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := NewReader(bytes.NewReader(data), Limits{MaxBody: 1 << 16})
		b := body{r: rd, kind: bodyChunked, max: 1 << 16}
		got, err := io.ReadAll(&b)
		if err != nil {
			return
		}
		want, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(data)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("h1 decoded %q; net/http %q, %v", got, want, err)
		}
	})
}

// FuzzReadResponse: no panic, and agreement with net/http on the status
// and the body wherever both accept.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\nuntil close"), true)
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		lim := Limits{MaxLine: 256, MaxHeaderBytes: 1024, MaxFields: 20, MaxBody: 4096}
		resp, err := NewReader(bytes.NewReader(data), lim).ReadResponse(method)
		if err != nil {
			return
		}
		body, berr := io.ReadAll(resp.Body)
		hr, herr := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)),
			&http.Request{Method: method})
		if herr != nil {
			return
		}
		hbody, hberr := io.ReadAll(hr.Body)
		if hr.StatusCode != resp.Status {
			t.Fatalf("status: net/http %d, h1 %d", hr.StatusCode, resp.Status)
		}
		if berr == nil && hberr == nil && !bytes.Equal(body, hbody) {
			t.Fatalf("bodies differ: net/http %q, h1 %q", hbody, body)
		}
	})
}

// FuzzValidValueBytes holds the word-at-a-time check to the byte table.
func FuzzValidValueBytes(f *testing.F) {
	f.Add([]byte("text/html,application/xhtml+xml\t\x80\xff"))
	f.Add([]byte("abcdefgh\x7fijklmnop"))
	f.Fuzz(func(t *testing.T, v []byte) {
		want := true
		for _, c := range v {
			want = want && class[c]&isValue != 0
		}
		if got := validValueBytes(v); got != want {
			t.Fatalf("%q: got %v, want %v", v, got, want)
		}
	})
}
