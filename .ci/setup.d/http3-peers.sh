#!/usr/bin/env bash
# Builds h3peer: an independent HTTP/3 and QUIC peer on quic-go, used by
# the interop tests and the benchmark of 02-protocols/http3. quic-go is
# not a dependency of the repo: the program is built in a scratch module
# outside it and installed into "$(go env GOPATH)/bin".
#
#   h3peer get [-ca FILE] URL...        fetch URLs over HTTP/3
#   h3peer serve -addr A -cert F -key F serve HTTP/3 (/, /bytes/N, /echo)
#   h3peer bench -size N -streams K -cert F -key F -ca F
#                                       quic-go to quic-go download speed
set -euo pipefail
QUICGO_VERSION=v0.65.0
bin="$(go env GOPATH)/bin/h3peer"
stamp="$(go env GOPATH)/bin/.h3peer-$QUICGO_VERSION-4"
if [ -x "$bin" ] && [ -e "$stamp" ]; then
  exit 0
fi
dir="${XDG_CACHE_HOME:-$HOME/.cache}/backend-protocols/h3peer"
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
cat >go.mod <<'EOF'
module h3peer

go 1.26.0
EOF
cat >main.go <<'EOF'
// Command h3peer is an independent HTTP/3 peer built on quic-go, for
// interoperability tests of a hand-written QUIC and HTTP/3 stack.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: h3peer get|serve|bench ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "get":
		err = get(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "h3peer:", err)
		os.Exit(1)
	}
}

func get(args []string) error {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	ca := fs.String("ca", "", "PEM file of the CA to trust")
	method := fs.String("X", "GET", "method")
	data := fs.String("d", "", "request body")
	fs.Parse(args)
	tc := &tls.Config{}
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tc.RootCAs = pool
	}
	tr := &http3.Transport{TLSClientConfig: tc}
	defer tr.Close()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	for _, u := range fs.Args() {
		var body io.Reader
		if *data != "" {
			body = strings.NewReader(*data)
		}
		req, err := http.NewRequest(*method, u, body)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		fmt.Printf("%d %d %s %q\n", resp.StatusCode, len(b), resp.Proto,
			string(b[:min(len(b), 64)]))
	}
	return nil
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from quic-go over %s\n", r.Proto)
	})
	mux.HandleFunc("GET /bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 || n > 1<<30 {
			http.Error(w, "bad size", 400)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		buf := make([]byte, 32<<10)
		for n > 0 {
			k := min(n, len(buf))
			w.Write(buf[:k])
			n -= k
		}
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	})
	return mux
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "UDP address")
	cert := fs.String("cert", "", "certificate PEM file")
	key := fs.String("key", "", "key PEM file")
	fs.Parse(args)
	c, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", *addr)
	if err != nil {
		return err
	}
	s := &http3.Server{Handler: handler(),
		TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{c}})}
	fmt.Printf("ready %s\n", pc.LocalAddr())
	return s.Serve(pc)
}

// bench downloads size bytes split over streams raw QUIC streams, from a
// quic-go server to a quic-go client on loopback, and reports MB/s and
// allocations per run: the same shape as the engine's benchmark.
func bench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	size := fs.Int64("size", 64<<20, "bytes per run")
	streams := fs.Int("streams", 1, "streams per run")
	runs := fs.Int("runs", 3, "runs")
	cert := fs.String("cert", "", "certificate PEM file")
	key := fs.String("key", "", "key PEM file")
	ca := fs.String("ca", "", "PEM file of the CA that issued cert")
	fs.Parse(args)
	c, err := tls.LoadX509KeyPair(*cert, *key)
	if err != nil {
		return err
	}
	pem, err := os.ReadFile(*ca)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	stc := &tls.Config{Certificates: []tls.Certificate{c}, NextProtos: []string{"bench"}}
	ln, err := quic.ListenAddr("127.0.0.1:0", stc, &quic.Config{})
	if err != nil {
		return err
	}
	defer ln.Close()
	per := *size / int64(*streams)
	go func() {
		for {
			conn, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			go func() {
				chunk := make([]byte, 64<<10)
				for {
					s, err := conn.AcceptStream(context.Background())
					if err != nil {
						return
					}
					go func() {
						var one [1]byte
						if _, err := io.ReadFull(s, one[:]); err != nil {
							return
						}
						for left := per; left > 0; {
							n := min(left, int64(len(chunk)))
							if _, err := s.Write(chunk[:n]); err != nil {
								return
							}
							left -= n
						}
						s.Close()
					}()
				}
			}()
		}
	}()
	ctc := &tls.Config{RootCAs: pool, ServerName: "localhost",
		NextProtos: []string{"bench"}}
	conn, err := quic.DialAddr(context.Background(), ln.Addr().String(), ctc, &quic.Config{})
	if err != nil {
		return err
	}
	defer conn.CloseWithError(0, "")
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	for range *runs {
		var wg sync.WaitGroup
		errc := make(chan error, *streams)
		for range *streams {
			wg.Go(func() {
				s, err := conn.OpenStreamSync(context.Background())
				if err != nil {
					errc <- err
					return
				}
				s.Write([]byte{1})
				n, err := io.Copy(io.Discard, s)
				if err == nil && n != per {
					err = fmt.Errorf("got %d bytes, want %d", n, per)
				}
				if err != nil {
					errc <- err
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			return err
		}
	}
	d := time.Since(start)
	runtime.ReadMemStats(&ms1)
	mbps := float64(*size) * float64(*runs) / d.Seconds() / 1e6
	fmt.Printf("mbps=%.1f allocs=%d bytes=%d\n", mbps,
		(ms1.Mallocs-ms0.Mallocs)/uint64(*runs),
		(ms1.TotalAlloc-ms0.TotalAlloc)/uint64(*runs))
	return nil
}
EOF
go get "github.com/quic-go/quic-go@$QUICGO_VERSION" >/dev/null
go mod tidy >/dev/null
GOFLAGS=-mod=mod go build -o "$bin" .
touch "$stamp"
echo "installed $bin (quic-go $QUICGO_VERSION)"
