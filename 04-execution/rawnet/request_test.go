package rawnet

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	cases := []struct {
		name, in            string
		method, target      string
		minor               int
		close               bool
		body                string
		host                string
		n                   int // bytes used; 0 means all of in
		leadingEmptyAllowed bool
	}{
		{name: "RFC 9112 3.2.1 origin-form",
			in:     "GET /pub/WWW/TheProject.html HTTP/1.1\r\nHost: www.example.org\r\n\r\n",
			method: "GET", target: "/pub/WWW/TheProject.html", minor: 1,
			host: "www.example.org"},
		{name: "RFC 9112 3.2.4 asterisk-form",
			in:     "OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n",
			method: "OPTIONS", target: "*", minor: 1, host: "www.example.org:8001"},
		{name: "RFC 9112 3.2.2 absolute-form",
			in:     "GET http://www.example.org/pub/WWW/TheProject.html HTTP/1.1\r\nHost: www.example.org\r\n\r\n",
			method: "GET", target: "http://www.example.org/pub/WWW/TheProject.html",
			minor: 1, host: "www.example.org"},
		{name: "HTTP/1.0 closes by default",
			in:     "GET / HTTP/1.0\r\n\r\n",
			method: "GET", target: "/", minor: 0, close: true},
		{name: "HTTP/1.0 keep-alive",
			in:     "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			method: "GET", target: "/", minor: 0},
		{name: "Connection: close among options",
			in:     "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n",
			method: "GET", target: "/", minor: 1, close: true, host: "a"},
		{name: "body and OWS around values",
			in:     "POST /orders HTTP/1.1\r\nHost:a\r\nContent-Length: \t5 \r\n\r\nhelloGET",
			method: "POST", target: "/orders", minor: 1, body: "hello", host: "a",
			n: len("POST /orders HTTP/1.1\r\nHost:a\r\nContent-Length: \t5 \r\n\r\nhello")},
		{name: "same Content-Length twice",
			in:     "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
			method: "POST", target: "/", minor: 1, body: "hi", host: "a"},
		{name: "leading empty lines (RFC 9112 2.2)",
			in:     "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
			method: "GET", target: "/", minor: 1, host: "a"},
		{name: "obs-text in a value",
			in:     "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9\r\n\r\n",
			method: "GET", target: "/", minor: 1, host: "a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, n, err := ParseRequest([]byte(c.in))
			if err != nil {
				t.Fatalf("got error %v, want a request", err)
			}
			want := c.n
			if want == 0 {
				want = len(c.in)
			}
			if n != want {
				t.Errorf("got %d bytes used, want %d", n, want)
			}
			if r.Method != c.method || r.Target != c.target || r.Minor != c.minor {
				t.Errorf("got %s %s 1.%d, want %s %s 1.%d", r.Method, r.Target,
					r.Minor, c.method, c.target, c.minor)
			}
			if r.Close != c.close {
				t.Errorf("got Close=%v, want %v", r.Close, c.close)
			}
			if string(r.Body) != c.body {
				t.Errorf("got body %q, want %q", r.Body, c.body)
			}
			if h, _ := r.Get("host"); h != c.host {
				t.Errorf("got Host %q, want %q", h, c.host)
			}
		})
	}
}

func TestParseRequestRefuses(t *testing.T) {
	long := strings.Repeat("a", MaxHeaderBytes)
	many := strings.Repeat("X: y\r\n", MaxHeaders+1)
	cases := []struct {
		name, in string
		status   int
	}{
		{"no version", "GET /\r\n\r\n", 400},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
		{"method with a slash", "G/T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"control in target", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"no Host in 1.1 (RFC 9112 3.2)", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"space before colon (RFC 9112 5.1)", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
		{"obs-fold (RFC 9112 5.2)", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nnonsense\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n", 400},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400},
		{"conflicting Content-Length (RFC 9112 6.3)",
			"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
		{"negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
		{"Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\na", 400},
		{"huge Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n", 400},
		{"body over the limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", 413},
		{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
		{"header section too long", "GET /" + long + " HTTP/1.1\r\n", 431},
		{"too many fields", "GET / HTTP/1.1\r\nHost: a\r\n" + many + "\r\n", 431},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ParseRequest([]byte(c.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a %d refusal", err, c.status)
			}
			if pe.Status != c.status {
				t.Errorf("got %d (%s), want %d", pe.Status, pe.Reason, c.status)
			}
		})
	}
}

// TestParseRequestIncremental feeds a request one byte at a time, as a
// slow client does: every prefix is incomplete, the whole is a request.
func TestParseRequestIncremental(t *testing.T) {
	in := []byte("\r\nPOST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
	head := len(in) - 3
	for i := range len(in) {
		_, n, err := ParseRequest(in[:i])
		if !errors.Is(err, ErrIncomplete) {
			t.Fatalf("prefix of %d bytes: got %v, want ErrIncomplete", i, err)
		}
		// Once the head is in, the length of the whole is known.
		if want := map[bool]int{true: len(in), false: 0}[i >= head]; n != want {
			t.Errorf("prefix of %d bytes: got need %d, want %d", i, n, want)
		}
	}
	r, n, err := ParseRequest(in)
	if err != nil || n != len(in) || string(r.Body) != "abc" {
		t.Fatalf("got %v, %d, %v; want the request", r, n, err)
	}
	if r.Path() != "/x" || r.Query("y") != "1" || r.Query("z") != "" {
		t.Errorf("got path %q query y=%q", r.Path(), r.Query("y"))
	}
}

// TestParseRequestPipelined parses back-to-back requests from one buffer.
func TestParseRequestPipelined(t *testing.T) {
	one := "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	b := []byte(one + one + "GET /b HTTP/1.1\r\nHost: h\r\n\r\nGET")
	var targets []string
	for {
		r, n, err := ParseRequest(b)
		if errors.Is(err, ErrIncomplete) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, r.Target)
		b = b[n:]
	}
	if strings.Join(targets, " ") != "/a /a /b" || string(b) != "GET" {
		t.Errorf("got %v and rest %q, want /a /a /b and GET", targets, b)
	}
}

// TestParseRequestFromNetHTTP parses what net/http's client writes.
func TestParseRequestFromNetHTTP(t *testing.T) {
	req, _ := http.NewRequest("POST", "http://example.com/orders?id=7",
		strings.NewReader(`{"item":"book"}`))
	req.Header.Set("Idempotency-Key", `"8e03978e"`)
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r, n, err := ParseRequest(buf.Bytes())
	if err != nil || n != buf.Len() {
		t.Fatalf("got %v after %d of %d bytes", err, n, buf.Len())
	}
	key, _ := r.Get("idempotency-key")
	if r.Method != "POST" || r.Target != "/orders?id=7" ||
		string(r.Body) != `{"item":"book"}` || key != `"8e03978e"` {
		t.Errorf("got %s %s body %q key %q", r.Method, r.Target, r.Body, key)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	var clock Clock
	cases := []struct {
		resp    Response
		head    bool
		closing bool
	}{
		{Text(200, "hello\n"), false, false},
		{Text(404, "no such page\n"), false, true},
		{Response{Status: 204}, false, false},
		{Text(200, "not sent for HEAD"), true, false},
		{Response{Status: 299, Body: []byte("odd status")}, false, false},
	}
	for _, c := range cases {
		wire := AppendResponse(nil, &c.resp, clock.Date(fixedNow), c.head, c.closing)
		// net/http's reader is the independent check of the writer.
		req := &http.Request{Method: "GET"}
		if c.head {
			req.Method = "HEAD"
		}
		hr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(wire)), req)
		if err != nil {
			t.Fatalf("net/http cannot read %q: %v", wire, err)
		}
		body := new(bytes.Buffer)
		body.ReadFrom(hr.Body)
		wantBody := string(c.resp.Body)
		if c.head || c.resp.Status == 204 {
			wantBody = ""
		}
		if hr.StatusCode != c.resp.Status || body.String() != wantBody ||
			hr.Close != c.closing || hr.Header.Get("Date") != "Mon, 02 Jan 2006 15:04:05 GMT" {
			t.Errorf("net/http read %d %q close=%v date=%q from %q", hr.StatusCode,
				body, hr.Close, hr.Header.Get("Date"), wire)
		}
		// And our own reader.
		r, n, err := ParseResponse(wire, c.head)
		if err != nil || n != len(wire) || r.Status != c.resp.Status ||
			string(r.Body) != wantBody {
			t.Errorf("ParseResponse(%q) = %+v, %d, %v", wire, r, n, err)
		}
	}
}

func TestParseResponseFromNetHTTP(t *testing.T) {
	resp := &http.Response{StatusCode: 201, ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"X-A": {"b"}},
		ContentLength: 2, Body: http.NoBody}
	resp.Body = nopCloser{strings.NewReader("ok")}
	var buf bytes.Buffer
	if err := resp.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r, n, err := ParseResponse(buf.Bytes(), false)
	if err != nil || n != buf.Len() || r.Status != 201 || string(r.Body) != "ok" {
		t.Fatalf("got %+v, %d, %v from %q", r, n, err, buf.Bytes())
	}
	if v, _ := r.Get("x-a"); v != "b" {
		t.Errorf("got X-A %q, want b", v)
	}
	chunked := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	if _, _, err := ParseResponse([]byte(chunked), false); err == nil {
		t.Errorf("chunked response: got no error, want a refusal")
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }
