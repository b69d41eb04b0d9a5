package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"backend-protocols/02-protocols/http3/quic"
	"backend-protocols/internal/certs"
	xquic "golang.org/x/net/quic"
)

const alpn = "interop"

func tlsConfigs(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	server, err = ca.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	server.NextProtos = []string{alpn}
	client = ca.ClientConfig()
	client.NextProtos = []string{alpn}
	client.ServerName = "127.0.0.1"
	client.MinVersion = tls.VersionTLS13
	server.MinVersion = tls.VersionTLS13
	return server, client
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

// stream is what both implementations' streams offer.
type stream interface {
	io.ReadWriter
	CloseWrite() error
}

// echo copies a stream back to itself and closes its send side; x/net
// streams need a Flush after each write, which Write-then-CloseWrite
// does.
func echo(s stream) {
	io.Copy(s, s)
	s.CloseWrite()
}

// roundTrip writes msg on s, closes the send side and reads the answer.
func roundTrip(t *testing.T, s stream, msg []byte) []byte {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := s.Write(msg)
		if err == nil {
			err = s.CloseWrite()
		}
		errc <- err
	}()
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	return got
}

// TestEngineClientXNetServer: our client, x/net/quic's server.
func TestEngineClientXNetServer(t *testing.T) {
	stls, ctls := tlsConfigs(t)
	ctx := ctxFor(t)
	srv, err := xquic.Listen("udp", "127.0.0.1:0", &xquic.Config{TLSConfig: stls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Close(cctx)
	})
	serverDone := make(chan error, 1)
	go func() {
		c, err := srv.Accept(ctx)
		if err != nil {
			serverDone <- err
			return
		}
		// Echo the client's two bidirectional streams.
		for range 2 {
			s, err := c.AcceptStream(ctx)
			if err != nil {
				serverDone <- err
				return
			}
			go echo(s)
		}
		// Open a stream of our own toward the client.
		s, err := c.NewStream(ctx)
		if err != nil {
			serverDone <- err
			return
		}
		s.Write([]byte("server-initiated"))
		s.CloseWrite()
		serverDone <- c.Wait(ctx)
	}()

	c, err := quic.Dial(ctx, "udp", srv.LocalAddr().String(), &quic.Config{TLSConfig: ctls})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.ConnectionState().NegotiatedProtocol; p != alpn {
		t.Errorf("got ALPN %q, want %q", p, alpn)
	}
	for _, n := range []int{11, 1 << 20} {
		s, err := c.OpenStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		msg := pattern(n, byte(n))
		if got := roundTrip(t, s, msg); !bytes.Equal(got, msg) {
			t.Errorf("echo of %d bytes: got %d back", n, len(got))
		}
	}
	s, err := c.AcceptStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "server-initiated" {
		t.Errorf("server stream: got %q, %v", got, err)
	}
	s.CloseWrite()
	c.CloseWithError(0x55, "bye")
	err = <-serverDone
	var ae *xquic.ConnectionCloseError
	if !errors.As(err, &ae) || ae.Code != 0x55 {
		t.Errorf("x/net server saw %v, want application error 0x55", err)
	}
}

// TestXNetClientEngineServer: x/net/quic's client, our server.
func TestXNetClientEngineServer(t *testing.T) {
	stls, ctls := tlsConfigs(t)
	ctx := ctxFor(t)
	ep, err := quic.Listen("udp", "127.0.0.1:0", &quic.Config{TLSConfig: stls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	serverErr := make(chan error, 1)
	go func() {
		c, err := ep.Accept(ctx)
		if err != nil {
			serverErr <- err
			return
		}
		for range 2 {
			s, err := c.AcceptStream(ctx)
			if err != nil {
				serverErr <- err
				return
			}
			go echo(s)
		}
		u, err := c.OpenUniStream(ctx)
		if err != nil {
			serverErr <- err
			return
		}
		u.Write(pattern(200000, 9))
		u.CloseWrite()
		<-c.Done()
		serverErr <- c.Err()
	}()

	cep, err := xquic.Listen("udp", "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cep.Close(cctx)
	})
	c, err := cep.Dial(ctx, "udp", ep.LocalAddr().String(), &xquic.Config{TLSConfig: ctls})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{5, 1 << 20} {
		s, err := c.NewStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		msg := pattern(n, byte(n))
		if got := roundTrip(t, s, msg); !bytes.Equal(got, msg) {
			t.Errorf("echo of %d bytes: got %d back", n, len(got))
		}
	}
	u, err := c.AcceptStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !u.IsReadOnly() {
		t.Errorf("server's unidirectional stream is not read-only at the client")
	}
	got, err := io.ReadAll(u)
	if err != nil || !bytes.Equal(got, pattern(200000, 9)) {
		t.Errorf("unidirectional stream: got %d bytes, %v", len(got), err)
	}
	c.Abort(&xquic.ConnectionCloseError{Code: 0x66, Reason: "done"})
	select {
	case err := <-serverErr:
		var ae *quic.ApplicationError
		if !errors.As(err, &ae) || ae.Code != 0x66 || !ae.Remote {
			t.Errorf("engine server saw %v, want remote application error 0x66", err)
		}
	case <-ctx.Done():
		t.Fatal("engine server did not see the close")
	}
}

var _ net.Conn = (*quic.Stream)(nil)
