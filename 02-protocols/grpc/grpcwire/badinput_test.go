package grpcwire

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawCall posts body to the server with the given headers over h2c (or
// HTTP/1.1) and returns the HTTP status and the gRPC status, from the
// trailers or, for Trailers-Only, the headers.
func rawCall(t *testing.T, addr, path string, hdr http.Header, body []byte, h1 bool) (int, *Status) {
	t.Helper()
	tr := H2C()
	if h1 {
		tr = &http.Transport{}
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctxTimeout(t, 5*time.Second), "POST", addr+path,
		bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	for _, h := range []http.Header{resp.Trailer, resp.Header} {
		if c, ok := h["Grpc-Status"]; ok {
			st := parseStatus(c, h["Grpc-Message"])
			return resp.StatusCode, &st
		}
	}
	return resp.StatusCode, nil
}

func grpcHeaders(kv ...string) http.Header {
	h := http.Header{"Content-Type": {"application/grpc"}, "Te": {"trailers"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(h, kv[i])
		} else {
			h.Set(kv[i], kv[i+1])
		}
	}
	return h
}

func frame(flag byte, n uint32, payload string) []byte {
	return append([]byte{flag, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, payload...)
}

// TestBadRequests: each gets the right HTTP or gRPC status, and the
// server keeps serving.
func TestBadRequests(t *testing.T) {
	c, log, addr := testServer(t, nil, func(s *Server) { s.MaxRecvMsgSize = 1 << 10 })
	good := frame(0, 4, "\x0a\x02hi")
	cases := []struct {
		name     string
		path     string
		hdr      http.Header
		body     []byte
		h1       bool
		wantHTTP int
		wantCode Code // meaningful when wantHTTP is 200 or the status is sent
		noStatus bool
	}{
		{name: "HTTP/1.1", path: "/test.Echo/Unary", hdr: grpcHeaders(), body: good, h1: true,
			wantHTTP: 505, noStatus: true},
		{name: "wrong content-type", path: "/test.Echo/Unary",
			hdr: grpcHeaders("Content-Type", "application/json"), body: good,
			wantHTTP: 415, noStatus: true},
		{name: "another codec", path: "/test.Echo/Unary",
			hdr: grpcHeaders("Content-Type", "application/grpc+json"), body: good,
			wantHTTP: 415, noStatus: true},
		{name: "missing te: trailers", path: "/test.Echo/Unary", hdr: grpcHeaders("Te", ""),
			body: good, wantHTTP: 400, wantCode: Internal},
		{name: "bad grpc-timeout", path: "/test.Echo/Unary",
			hdr: grpcHeaders("Grpc-Timeout", "soon"), body: good, wantHTTP: 200, wantCode: Internal},
		{name: "compression not agreed", path: "/test.Echo/Unary",
			hdr: grpcHeaders("Grpc-Encoding", "gzip"), body: good, wantHTTP: 200, wantCode: Unimplemented},
		{name: "bad -bin metadata", path: "/test.Echo/Unary",
			hdr: grpcHeaders("X-Bin", "!!!"), body: good, wantHTTP: 200, wantCode: Internal},
		{name: "malformed protobuf", path: "/test.Echo/Unary", hdr: grpcHeaders(),
			body: frame(0, 3, "\x0a\x05h"), wantHTTP: 200, wantCode: Internal},
		{name: "truncated message", path: "/test.Echo/Unary", hdr: grpcHeaders(),
			body: frame(0, 40, "\x0a\x02hi"), wantHTTP: 200, wantCode: Internal},
		{name: "truncated prefix", path: "/test.Echo/Unary", hdr: grpcHeaders(),
			body: []byte{0, 0, 0}, wantHTTP: 200, wantCode: Internal},
		{name: "oversized message", path: "/test.Echo/Unary", hdr: grpcHeaders(),
			body: frame(0, 1<<30, "x"), wantHTTP: 200, wantCode: ResourceExhausted},
		{name: "compressed flag", path: "/test.Echo/Unary", hdr: grpcHeaders(),
			body: frame(1, 4, "\x0a\x02hi"), wantHTTP: 200, wantCode: Internal},
		{name: "invalid flag", path: "/test.Echo/Unary", hdr: grpcHeaders(),
			body: frame(7, 4, "\x0a\x02hi"), wantHTTP: 200, wantCode: Internal},
		{name: "no request to a unary method", path: "/test.Echo/Unary", hdr: grpcHeaders(),
			body: nil, wantHTTP: 200, wantCode: Unimplemented},
		{name: "two requests to a unary method", path: "/test.Echo/Unary", hdr: grpcHeaders(),
			body: append(append([]byte(nil), good...), good...), wantHTTP: 200, wantCode: Unimplemented},
		{name: "unknown service", path: "/no.Such/Unary", hdr: grpcHeaders(), body: good,
			wantHTTP: 200, wantCode: Unimplemented},
		{name: "unknown method", path: "/test.Echo/Nope", hdr: grpcHeaders(), body: good,
			wantHTTP: 200, wantCode: Unimplemented},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, st := rawCall(t, addr, c.path, c.hdr, c.body, c.h1)
			if code != c.wantHTTP {
				t.Errorf("got HTTP %d, want %d", code, c.wantHTTP)
			}
			switch {
			case c.noStatus && st != nil:
				t.Errorf("got grpc-status %v on a non-gRPC answer", st)
			case !c.noStatus && (st == nil || st.Code != c.wantCode):
				t.Errorf("got status %v, want %v", st, c.wantCode)
			}
		})
	}
	if err := c.Invoke(ctxTimeout(t, 5*time.Second), "/test.Echo/Unary", &msg{S: "still"}, &msg{}); err != nil {
		t.Errorf("after the bad requests: %v", err)
	}
	_ = log
}

// brokenServer answers every request with h, for the client's side of
// bad input.
func brokenServer(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, Protocols: new(http.Protocols)}
	hs.Protocols.SetUnencryptedHTTP2(true)
	go hs.Serve(ln)
	tr := H2C()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		hs.Close()
	})
	return NewClient("http://"+ln.Addr().String(), tr)
}

// grpcResponse writes a gRPC response by hand: messages, then trailers.
func grpcResponse(body []byte, trailers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		for i := 0; i+1 < len(trailers); i += 2 {
			w.Header().Set(http.TrailerPrefix+trailers[i], trailers[i+1])
		}
		w.WriteHeader(200)
		w.Write(body)
	}
}

// TestBadResponses: whatever comes back, the client ends the call with a
// status the spec names, never a hang or a panic.
func TestBadResponses(t *testing.T) {
	one := frame(0, 4, "\x0a\x02hi")
	cases := []struct {
		name string
		h    http.HandlerFunc
		want Code
		msg  string
	}{
		{"404 page", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			Unimplemented, ""},
		{"503 page", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) },
			Unavailable, ""},
		{"HTML with 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html>")
		}, Internal, ""},
		{"no trailers", grpcResponse(one), Internal, ""},
		{"malformed grpc-status", grpcResponse(one, "Grpc-Status", "zero"), Unknown, ""},
		{"broken percent-encoding", grpcResponse(nil, "Grpc-Status", "5", "Grpc-Message", "50%zz%E2%98%BA"),
			NotFound, "50%zz☺"},
		{"two responses to unary", grpcResponse(append(append([]byte(nil), one...), one...),
			"Grpc-Status", "0"), Unimplemented, ""},
		{"no response but OK", grpcResponse(nil, "Grpc-Status", "0"), Unimplemented, ""},
		{"truncated response", grpcResponse(frame(0, 9, "\x0a"), "Grpc-Status", "0"), Internal, ""},
		{"malformed protobuf", grpcResponse(frame(0, 2, "\xff\xff"), "Grpc-Status", "0"), Internal, ""},
		{"oversized response", grpcResponse(frame(0, 1<<30, ""), "Grpc-Status", "0"),
			ResourceExhausted, ""},
		{"compressed response", grpcResponse(frame(1, 4, "\x0a\x02hi"), "Grpc-Status", "0"),
			Internal, ""},
		{"stream reset", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			w.WriteHeader(200)
			w.Write(frame(0, 10, "\x0a"))
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler) // net/http resets the stream
		}, Internal, ""},
		{"status code out of range", grpcResponse(nil, "Grpc-Status", "99"), 99, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := brokenServer(t, c.h)
			err := cl.Invoke(ctxTimeout(t, 5*time.Second), "/a.B/C", &msg{S: "x"}, &msg{})
			st := StatusOf(err)
			if st.Code != c.want {
				t.Errorf("got %v, want %v", err, c.want)
			}
			if c.msg != "" && st.Message != c.msg {
				t.Errorf("got message %q, want %q", st.Message, c.msg)
			}
		})
	}
}

// FuzzServeHTTP runs the server on arbitrary request bodies and header
// values, without a network: it must answer every one with a status.
func FuzzServeHTTP(f *testing.F) {
	srv := &Server{MaxRecvMsgSize: 1 << 12}
	echoService(srv)
	f.Add("/test.Echo/Unary", "1S", "x", frame(0, 4, "\x0a\x02hi"))
	f.Add("/test.Echo/Sum", "", "AP+r", append(frame(0, 2, "\x10\x05"), frame(0, 2, "\x10\x06")...))
	f.Add("/test.Echo/Chat", "99m", "", frame(1, 0, ""))
	f.Fuzz(func(t *testing.T, path, timeout, bin string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req := httptest.NewRequest("POST", "http://x/", bytes.NewReader(body))
		req.URL.Path = path
		req.ProtoMajor, req.ProtoMinor, req.Proto = 2, 0, "HTTP/2.0"
		req.Header = grpcHeaders("Grpc-Timeout", timeout)
		req.Header["X-Fuzz-Bin"] = []string{bin}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req = req.WithContext(ctx)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		res := rec.Result()
		code := res.Header.Get("Grpc-Status")
		if code == "" {
			code = res.Trailer.Get("Grpc-Status")
		}
		if _, err := strconv.Atoi(code); err != nil {
			t.Fatalf("no grpc-status for %q %q: headers %v trailers %v",
				path, body, res.Header, res.Trailer)
		}
	})
}
