package quic

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
)

// benchDownload serves size bytes on each of n streams from server to
// client and reports MB/s.
func benchDownload(b *testing.B, streams int, size int64) {
	sc, cc := serverConfig(b), clientConfig()
	client, server := pair(b, sc, cc)
	ctx := context.Background()
	chunk := make([]byte, 64<<10)
	go func() {
		for {
			s, err := server.AcceptStream(ctx)
			if err != nil {
				return
			}
			go func() {
				var req [1]byte
				if _, err := io.ReadFull(s, req[:]); err != nil {
					return
				}
				for left := size / int64(streams); left > 0; {
					n := min(left, int64(len(chunk)))
					if _, err := s.Write(chunk[:n]); err != nil {
						return
					}
					left -= n
				}
				s.CloseWrite()
			}()
		}
	}()
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		for range streams {
			wg.Go(func() {
				s, err := client.OpenStream(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				s.Write([]byte{1})
				n, err := io.Copy(io.Discard, s)
				if err != nil || n != size/int64(streams) {
					b.Errorf("got %d bytes, %v", n, err)
				}
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	st := server.Stats()
	b.ReportMetric(float64(st.PacketsLost), "lost")
	b.ReportMetric(float64(client.Stats().QueueDrops), "qdrops")
}

func BenchmarkDownload64MiB(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			benchDownload(b, n, 64<<20)
		})
	}
}
