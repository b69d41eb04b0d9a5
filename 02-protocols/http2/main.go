// HTTP/2 on the wire: net/http's own HTTP/2, over TLS (ALPN h2) and in
// clear text with prior knowledge (h2c), watched through a tap that
// decodes every frame (h2tap).
//
//	go run ./02-protocols/http2
//
// Look for: the preface and SETTINGS before the first HEADERS, and the
// request riding in the client's first flight; ALPN "h2" from the TLS
// handshake; RST_STREAM when a client gives up, PING on an idle
// connection, GOAWAY when the server shuts down; 100 requests as 100
// streams on one TCP connection; the same request's header block
// shrinking from its first to its tenth sending (HPACK's dynamic table);
// a server stopping at a slow reader's window until WINDOW_UPDATE; and a
// slow response holding up fast ones on HTTP/1.1 but not on HTTP/2.
//
// -serve ADDR puts the tap on ADDR in front of the demo's server and
// prints every frame real clients exchange with it:
//
//	go run ./02-protocols/http2 -serve 127.0.0.1:8080
//	nghttp -nv http://127.0.0.1:8080/hello
//	curl --http2-prior-knowledge http://127.0.0.1:8080/hello
//	h2load -n 1000 -c 1 -m 100 http://127.0.0.1:8080/fast
//
// With -tls it serves HTTPS (h2 and http/1.1 by ALPN) and writes the CA
// certificate for curl --cacert. -connect ADDR fetches -path from an h2c
// server elsewhere through a local tap and prints the frames.
package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"

	"backend-protocols/02-protocols/http2/h2tap"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := defaults
	useTLS, frames, path := false, true, "/"
	p := demo.New("http2",
		"HTTP/2 frames, multiplexing, HPACK, flow control and head-of-line blocking, watched through a frame tap.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cfg)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return serve(ctx, tl, addr, useTLS, frames, nil)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return connect(ctx, tl, addr, path)
			},
		})
	p.Flags.IntVar(&cfg.Streams, "streams", cfg.Streams, "concurrent requests in the multiplexing step")
	p.Flags.DurationVar(&cfg.Slow, "slow", cfg.Slow, "the slow response in the head-of-line race")
	p.Flags.BoolVar(&useTLS, "tls", false, "with -serve, serve HTTPS (ALPN h2 and http/1.1)")
	p.Flags.BoolVar(&frames, "frames", true, "with -serve, print every frame")
	p.Flags.StringVar(&path, "path", path, "with -connect, the path to GET")
	p.Main()
}

// serve runs the demo's server behind a tap listening on addr; ready, if
// set, is told the address once it listens.
func serve(ctx context.Context, tl *timeline.Timeline, addr string, useTLS, frames bool,
	ready func(addr string)) error {
	srv := newServer()
	var ca *certs.CA
	var opt h2tap.Options
	if useTLS {
		var err error
		if ca, err = certs.NewCA(); err != nil {
			return err
		}
		if opt.TLS, err = ca.ServerConfig(); err != nil {
			return err
		}
		opt.UpstreamTLS = ca.ClientConfig()
	}
	hs, err := srv.httpServer(ca)
	if err != nil {
		return err
	}
	run, err := demo.StartHTTP(ctx, hs, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer run.Close()
	opt.Target, opt.MaxData = run.Addr, 24
	if frames {
		opt.OnFrame = (&h2tap.Printer{TL: tl}).Print
	}
	opt.OnConn = func(e h2tap.ConnEvent) {
		switch {
		case e.Err != nil:
			tl.Note("tap", "connection %d: %v", e.Conn, e.Err)
		case e.Closed:
			tl.Note("tap", "connection %d closed", e.Conn)
		default:
			tl.Note("tap", "connection %d opened %s", e.Conn, e.Proto)
		}
	}
	tap, err := h2tap.Listen(addr, opt)
	if err != nil {
		return err
	}
	defer tap.Close()
	scheme := "http"
	if ca != nil {
		scheme = "https"
		path := filepath.Join(os.TempDir(), "http2-demo-ca.pem")
		if err := os.WriteFile(path, ca.PEM(), 0o644); err != nil {
			return err
		}
		tl.Note("server", "CA certificate written to %s (curl --cacert %s)", path, path)
	}
	tl.Note("server", "%s://%s/ through the frame tap; "+
		"routes /hello /fast /slow?ms= /wait /big?kb= /together?n=",
		scheme, tap.Addr())
	if ready != nil {
		ready(tap.Addr().String())
	}
	<-ctx.Done()
	return nil
}

// connect fetches path from an h2c server at addr through a local tap.
func connect(ctx context.Context, tl *timeline.Timeline, addr, path string) error {
	tap, err := startTap(tl, addr, nil, nil)
	if err != nil {
		return err
	}
	defer tap.Close()
	tap.printing(true)
	tr := h2cTransport()
	defer tr.CloseIdleConnections()
	url := "http://" + tap.Addr().String() + path
	resp, body, err := get(ctx, &http.Client{Transport: tr}, url, nil)
	if err != nil {
		return err
	}
	tl.Note("client", "%s %s, %d bytes", resp.Proto, resp.Status, len(body))
	tr.CloseIdleConnections()
	return tap.waitClosed(ctx)
}
