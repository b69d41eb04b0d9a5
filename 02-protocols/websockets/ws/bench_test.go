package ws

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// BenchmarkEcho sends a binary message and waits for its echo, over
// loopback TCP, with this engine on both ends and with x/net/websocket on
// both ends, in one run. msgs/s counts round trips; B/op and allocs/op
// count both ends, since both run in this process.
//
//	go test -run '^$' -bench Echo -benchmem ./02-protocols/websockets/ws
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{16, 64 << 10} {
		msg := make([]byte, size)
		name := map[int]string{16: "16B", 64 << 10: "64KiB"}[size]
		b.Run(name+"/ws", func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := Accept(w, r, nil)
				if err != nil {
					return
				}
				for {
					typ, m, err := c.ReadMessage()
					if err != nil || c.WriteMessage(typ, m) != nil {
						return
					}
				}
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, _, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.NetConn().Close()
			b.SetBytes(int64(2 * size))
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if err := c.WriteMessage(OpBinary, msg); err != nil {
					b.Fatal(err)
				}
				if _, got, err := c.ReadMessage(); err != nil || len(got) != size {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
		b.Run(name+"/x-net", func(b *testing.B) {
			srv := httptest.NewServer(websocket.Server{Handler: func(c *websocket.Conn) {
				c.MaxPayloadBytes = 1 << 20
				for {
					var m []byte
					if websocket.Message.Receive(c, &m) != nil ||
						websocket.Message.Send(c, m) != nil {
						return
					}
				}
			}})
			defer srv.Close()
			url := "ws" + strings.TrimPrefix(srv.URL, "http")
			c, err := websocket.Dial(url, "", srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			c.MaxPayloadBytes = 1 << 20
			b.SetBytes(int64(2 * size))
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if err := websocket.Message.Send(c, msg); err != nil {
					b.Fatal(err)
				}
				var got []byte
				if err := websocket.Message.Receive(c, &got); err != nil || len(got) != size {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
