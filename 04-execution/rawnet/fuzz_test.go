package rawnet

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

var fixedNow = time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)

var seeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /orders HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
	"\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET / HTTP/9.9\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 204 No Content\r\n\r\n",
	"\x00\xff\r\n\r\n",
}

// FuzzParseRequest checks that no input panics, that an accepted request
// used only bytes it was given, and that a request is a request whatever
// follows it (pipelining) while any strict prefix of it is not one yet.
func FuzzParseRequest(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := ParseRequest(b)
		if err != nil {
			var pe *ParseError
			if !errors.Is(err, ErrIncomplete) && !errors.As(err, &pe) {
				t.Fatalf("got error %T %v", err, err)
			}
			if pe != nil && (pe.Status < 400 || pe.Status > 505) {
				t.Fatalf("got status %d", pe.Status)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("used %d of %d bytes", n, len(b))
		}
		if len(r.Body) > MaxBodyBytes || len(r.Header) > MaxHeaders {
			t.Fatalf("limits exceeded: body %d, %d fields", len(r.Body), len(r.Header))
		}
		again, m, err := ParseRequest(append(bytes.Clone(b[:n]), "GET"...))
		if err != nil || m != n || again.Target != r.Target {
			t.Fatalf("with a byte more: got %v, %d (want %d)", err, m, n)
		}
		if _, _, err := ParseRequest(b[:n-1]); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("strict prefix: got %v, want ErrIncomplete", err)
		}
	})
}

// FuzzParseResponse checks the client's reader the same way, and that a
// response written by AppendResponse reads back.
func FuzzParseResponse(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s), uint16(200))
	}
	f.Fuzz(func(t *testing.T, b []byte, status uint16) {
		r, n, err := ParseResponse(b, false)
		if err == nil && (n <= 0 || n > len(b) || len(r.Body) > MaxBodyBytes) {
			t.Fatalf("used %d of %d bytes, body %d", n, len(b), len(r.Body))
		}
		st := 100 + int(status)%500
		if st < 200 {
			st = 200 // an informational response is not a final answer
		}
		resp := Response{Status: st, Body: b,
			Header: []Field{{"Content-Type", "application/octet-stream"}}}
		if len(b) > MaxBodyBytes {
			return
		}
		var c Clock
		wire := AppendResponse(nil, &resp, c.Date(fixedNow), false, false)
		got, n, err := ParseResponse(wire, false)
		if err != nil || n != len(wire) || got.Status != st {
			t.Fatalf("round trip of %d: got %v, %d, %v", st, got, n, err)
		}
		if !bodyless(st) && !bytes.Equal(got.Body, b) {
			t.Fatalf("round trip body differs")
		}
	})
}
