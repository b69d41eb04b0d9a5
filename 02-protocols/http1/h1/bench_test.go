package h1

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

// browserGET is what a browser sends for a page: a dozen fields.
const browserGET = "GET /articles/http1?page=2 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Referer: https://www.example.com/articles\r\n" +
	"Cookie: session=4f2a9c1e7b; theme=dark; consent=yes\r\n" +
	"Connection: keep-alive\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"Sec-Fetch-Dest: document\r\n" +
	"Sec-Fetch-Mode: navigate\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"Cache-Control: max-age=0\r\n\r\n"

// benchRequests are the inputs both parsers read in BenchmarkReadRequest.
var benchRequests = []struct{ name, raw string }{
	{"curl-GET", "GET / HTTP/1.1\r\nHost: localhost:8080\r\n" +
		"User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"},
	{"browser-GET", browserGET},
	{"POST-json", "POST /api/orders HTTP/1.1\r\nHost: api.example.com\r\n" +
		"Content-Type: application/json\r\nContent-Length: 27\r\n" +
		"Authorization: Bearer abc.def.ghi\r\n\r\n{\"item\":\"book\",\"count\":2}\r\n"},
	{"POST-chunked", "POST /upload HTTP/1.1\r\nHost: api.example.com\r\n" +
		"Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n" +
		"10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"},
}

// BenchmarkReadRequest parses the same requests with the engine and with
// net/http's http.ReadRequest in one run, reading every body to the end.
// Both read from a reused bufio-sized buffer, as a server connection does.
//
//	go test -run '^$' -bench ReadRequest -benchmem ./02-protocols/http1/h1
func BenchmarkReadRequest(b *testing.B) {
	var sink [256]byte
	for _, br := range benchRequests {
		raw := []byte(br.raw)
		b.Run(br.name+"/h1", func(b *testing.B) {
			src := bytes.NewReader(raw)
			rd := NewReader(src, Limits{})
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(raw)
				rd.Reset(src)
				req, err := rd.ReadRequest()
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := req.Body.Read(sink[:]); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(br.name+"/net-http", func(b *testing.B) {
			src := bytes.NewReader(raw)
			rd := bufio.NewReaderSize(src, bufSize)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(raw)
				rd.Reset(src)
				req, err := http.ReadRequest(rd)
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := req.Body.Read(sink[:]); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkServer measures one keep-alive request and response over
// loopback TCP against this server and against net/http's, with the same
// client and a handler that answers "hello" to both. B/op and allocs/op
// count client and server, as both run in this process.
//
//	go test -run '^$' -bench Server -benchmem ./02-protocols/http1/h1
func BenchmarkServer(b *testing.B) {
	servers := []struct {
		name  string
		start func(b *testing.B) string
	}{
		{"h1", func(b *testing.B) string {
			return startServer(b, &Server{Handler: func(w *ResponseWriter, r *Request) {
				w.Header.Add("Content-Type", "text/plain")
				io.WriteString(w, "hello")
			}})
		}},
		{"net-http", func(b *testing.B) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "hello")
			})}
			go srv.Serve(ln)
			b.Cleanup(func() { srv.Close() })
			return ln.Addr().String()
		}},
	}
	for _, s := range servers {
		b.Run(s.name, func(b *testing.B) {
			addr := s.start(b)
			c, err := Dial(context.Background(), addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := NewRequest("GET", "localhost", "/", nil)
			req.Header.Add("User-Agent", "bench")
			var buf [64]byte
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				if n, _ := io.ReadFull(resp.Body, buf[:5]); n != 5 {
					b.Fatalf("got %d bytes", n)
				}
			}
		})
	}
}
