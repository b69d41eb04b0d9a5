package quic

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// BenchmarkDownload64MiB downloads 64 MiB over loopback, on one stream
// and split over eight, with this engine and, in the same run, with
// quic-go (h3peer bench, built by .ci/setup.d/http3-peers.sh): both ends
// in one process each time, the same chunk sizes, MB/s and allocations
// per download of both ends together.
//
//	go test -run '^$' -bench Download64MiB -benchtime 3x ./02-protocols/http3/quic
func BenchmarkDownload64MiB(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("engine/streams=%d", n), func(b *testing.B) {
			benchDownload(b, n, 64<<20)
		})
	}
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("quic-go/streams=%d", n), func(b *testing.B) {
			benchQuicGo(b, n, 64<<20)
		})
	}
}

// benchDownload serves size bytes split over streams streams from server
// to client and reports MB/s.
func benchDownload(b *testing.B, streams int, size int64) {
	sc, cc := serverConfig(b), clientConfig()
	client, server := pair(b, sc, cc)
	ctx := context.Background()
	chunk := make([]byte, 64<<10)
	per := size / int64(streams)
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
				for left := per; left > 0; {
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
				if err != nil || n != per {
					b.Errorf("got %d bytes, %v", n, err)
				}
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(server.Stats().PacketsLost)/float64(b.N), "lost/op")
}

// benchQuicGo runs quic-go's side of the comparison in its own process
// and reports what it measured as this benchmark's numbers.
func benchQuicGo(b *testing.B, streams int, size int64) {
	bin, err := exec.LookPath("h3peer")
	if err != nil {
		b.Skip("h3peer not installed (.ci/setup.d/http3-peers.sh builds it)")
	}
	dir := b.TempDir()
	ca, cert, key := writeKeyPair(b, dir)
	out, err := exec.Command(bin, "bench", "-size", strconv.FormatInt(size, 10),
		"-streams", strconv.Itoa(streams), "-runs", strconv.Itoa(b.N),
		"-cert", cert, "-key", key, "-ca", ca).CombinedOutput()
	if err != nil {
		b.Fatalf("h3peer bench: %v\n%s", err, out)
	}
	var mbps float64
	var allocs, bytes uint64
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)),
		"mbps=%f allocs=%d bytes=%d", &mbps, &allocs, &bytes); err != nil {
		b.Fatalf("h3peer bench said %q: %v", out, err)
	}
	b.ReportAllocs() // then overridden with quic-go's own counts
	b.ReportMetric(mbps, "MB/s")
	b.ReportMetric(float64(allocs), "allocs/op")
	b.ReportMetric(float64(bytes), "B/op")
	b.ReportMetric(float64(size)/mbps*1e3, "ns/op")
}

// writeKeyPair writes the test CA, a server certificate for localhost
// and its key into dir, for a peer that reads files.
func writeKeyPair(tb testing.TB, dir string) (ca, cert, key string) {
	tb.Helper()
	ca, cert, key, err := testCA().WriteServerFiles(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return ca, cert, key
}
