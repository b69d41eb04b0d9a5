package grpcwire_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"backend-protocols/02-protocols/grpc/grpcwire"
	"backend-protocols/02-protocols/grpc/interop"
)

// benchServer serves h over h2c and counts the TCP connections it
// accepts.
func benchServer(b *testing.B, h http.Handler) (string, *atomic.Int64) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var conns atomic.Int64
	hs := &http.Server{Handler: h, Protocols: new(http.Protocols),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}}
	hs.Protocols.SetUnencryptedHTTP2(true)
	go hs.Serve(ln)
	b.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String(), &conns
}

// run makes b.N calls from streams goroutines at once, over whatever
// connection the client holds, and reports calls per second and the TCP
// connections used (allocations count client and server together: they
// share the process).
func run(b *testing.B, streams int, conns *atomic.Int64, call func() error) {
	if err := call(); err != nil { // opens the connection
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range streams {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := call(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	b.ReportMetric(float64(conns.Load()), "conns")
}

// request is the benchmark's call: grpc.testing's UnaryCall with 100
// bytes each way, as the scratch-module benchmark of grpc-go makes it.
var request = &interop.SimpleRequest{ResponseSize: 100,
	Payload: &interop.Payload{Body: make([]byte, 100)}}

// BenchmarkUnary measures unary calls over one h2c connection with 1 and
// 64 calls in flight: the engine, and beside it net/http alone posting
// the same bytes to a handler that answers the same bytes, which is the
// floor the engine's gRPC framing, headers and trailers sit on.
func BenchmarkUnary(b *testing.B) {
	resp, _ := grpcwire.AppendFrame(nil, &interop.SimpleResponse{
		Payload: &interop.Payload{Body: make([]byte, 100)}}, 1<<20)
	body, _ := grpcwire.AppendFrame(nil, request, 1<<20)
	for _, streams := range []int{1, 64} {
		b.Run(fmt.Sprintf("grpcwire/streams=%d", streams), func(b *testing.B) {
			srv := &grpcwire.Server{}
			interop.Register(srv)
			url, conns := benchServer(b, srv)
			tr := grpcwire.H2C()
			defer tr.CloseIdleConnections()
			c := grpcwire.NewClient(url, tr)
			run(b, streams, conns, func() error {
				var out interop.SimpleResponse
				return c.Invoke(context.Background(),
					"/grpc.testing.TestService/UnaryCall", request, &out)
			})
		})
		b.Run(fmt.Sprintf("net-http/streams=%d", streams), func(b *testing.B) {
			url, conns := benchServer(b, http.HandlerFunc(
				func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					w.Write(resp)
				}))
			tr := grpcwire.H2C()
			defer tr.CloseIdleConnections()
			run(b, streams, conns, func() error {
				req, _ := http.NewRequest("POST", url+"/echo", bytes.NewReader(body))
				res, err := tr.RoundTrip(req)
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				return err
			})
		})
	}
}
