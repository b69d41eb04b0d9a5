// gRPC by hand: the course's to-do service (todo.proto) and gRPC's interop
// test service, served and called with this repo's own gRPC
// (./grpcwire) and protobuf (./protowire) over net/http's HTTP/2, the
// frames of each call decoded by a tap (../http2/h2tap).
//
//	go run ./02-protocols/grpc
//
// Look for: createTodo as three HEADERS frames and two DATA frames, each
// DATA starting with the 5-byte message prefix (flag, 4-byte length); the
// status in trailers (grpc-status 0); readTodosStream's items one message
// each, then "server done!"; an error answered Trailers-Only with its
// grpc-message percent-encoded; grpc-timeout on the wire and
// DEADLINE_EXCEEDED when it runs out; RST_STREAM CANCEL when the client
// gives up on a stream, and the server's handler stopping with it.
//
// -serve ADDR serves both services over h2c for real clients (-frames
// also prints every frame; -tls serves TLS and writes the CA certificate):
//
//	go run ./02-protocols/grpc -serve 127.0.0.1:50051
//	grpcurl -plaintext -import-path 02-protocols/grpc -proto todo.proto \
//	  -d '{"id": -1, "text": "buy milk"}' 127.0.0.1:50051 todoPackage.Todo/createTodo
//	grpc-interop-client --server_port=50051 --test_case=ping_pong
//
// -connect ADDR runs the course's client (createTodo -text, then
// readTodosStream) against any todoPackage.Todo server in clear text.
package main

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"backend-protocols/02-protocols/grpc/grpcwire"
	"backend-protocols/02-protocols/http2/h2tap"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	text := "buy milk"
	frames, useTLS := false, false
	p := demo.New("grpc",
		"gRPC written by hand: the course's to-do service and gRPC's interop service, frame by frame.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, text)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return serve(ctx, tl, addr, frames, useTLS, nil)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return connect(ctx, tl, addr, text)
			},
		})
	p.Flags.StringVar(&text, "text", text, "the to-do to create")
	p.Flags.BoolVar(&frames, "frames", false, "with -serve, print every HTTP/2 frame")
	p.Flags.BoolVar(&useTLS, "tls", false, "with -serve, serve TLS (ALPN h2)")
	p.Main()
}

// serve serves both services on addr until ctx is done: directly, or
// behind a frame tap that prints every frame. ready, if set, is told the
// address once it listens.
func serve(ctx context.Context, tl *timeline.Timeline, addr string, frames, useTLS bool,
	ready func(addr string)) error {
	if ready == nil {
		ready = func(string) {}
	}
	var ca *certs.CA
	if useTLS {
		var err error
		if ca, err = certs.NewCA(); err != nil {
			return err
		}
		path := filepath.Join(os.TempDir(), "grpc-demo-ca.pem")
		if err := os.WriteFile(path, ca.PEM(), 0o644); err != nil {
			return err
		}
		tl.Note("server", "CA certificate written to %s (grpcurl -cacert %s)", path, path)
	}
	hs, err := httpServer(newServer(tl, nil), ca)
	if err != nil {
		return err
	}
	if !frames {
		ln, err := demo.Listen(addr)
		if err != nil {
			return err
		}
		tl.Note("server", "todoPackage.Todo and grpc.testing.TestService on %s", ln.Addr())
		ready(ln.Addr().String())
		return demo.ServeHTTP(ctx, hs, ln)
	}
	run, err := demo.StartHTTP(ctx, hs, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer run.Close()
	opt := h2tap.Options{Target: run.Addr, MaxData: 64}
	if ca != nil {
		if opt.TLS, err = ca.ServerConfig(); err != nil {
			return err
		}
		opt.TLS.NextProtos = []string{"h2"}
		opt.UpstreamTLS = ca.ClientConfig()
	}
	w := newWire(tl)
	w.Printing(true)
	opt.OnFrame = w.onFrame
	tap, err := h2tap.Listen(addr, opt)
	if err != nil {
		return err
	}
	defer tap.Close()
	tl.Note("server", "todoPackage.Todo and grpc.testing.TestService on %s, through a frame tap",
		tap.Addr())
	ready(tap.Addr().String())
	<-ctx.Done()
	return nil
}

// connect is the course's client: createTodo, then readTodosStream.
func connect(ctx context.Context, tl *timeline.Timeline, addr, text string) error {
	tr := grpcwire.H2C()
	defer tr.CloseIdleConnections()
	c := grpcwire.NewClient("http://"+addr, tr)
	var out TodoItem
	if err := c.Invoke(ctx, todoService+"createTodo", &TodoItem{ID: -1, Text: text}, &out); err != nil {
		return err
	}
	tl.Note("client", "received from server %v", &out)
	_, err := readStream(ctx, tl, c)
	return err
}

// readStream calls readTodosStream and prints each item as it comes, and
// "server done!" at the end, as the course's client does.
func readStream(ctx context.Context, tl *timeline.Timeline, c *grpcwire.Client) ([]*TodoItem, error) {
	cs, err := c.NewStream(ctx, todoService+"readTodosStream")
	if err != nil {
		return nil, err
	}
	cs.Send(&VoidNoParam{})
	cs.CloseSend()
	var items []*TodoItem
	for {
		it := new(TodoItem)
		err := cs.Recv(it)
		if err == io.EOF {
			tl.Note("client", "server done!")
			return items, nil
		}
		if err != nil {
			return items, err
		}
		items = append(items, it)
		tl.Note("client", "received item from server %v", it)
	}
}
