package quic

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"backend-protocols/internal/certs"
)

// testCA is shared by the package's tests: making a CA costs a key.
var testCA = sync.OnceValue(func() *certs.CA {
	ca, err := certs.NewCA()
	if err != nil {
		panic(err)
	}
	return ca
})

const testALPN = "quic-test"

func serverConfig(t testing.TB) *Config {
	t.Helper()
	tc, err := testCA().ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	tc.NextProtos = []string{testALPN}
	return &Config{TLSConfig: tc}
}

func clientConfig() *Config {
	tc := testCA().ClientConfig()
	tc.NextProtos = []string{testALPN}
	return &Config{TLSConfig: tc}
}

// listen starts a server endpoint closed at the end of the test.
func listen(t testing.TB, cfg *Config) *Endpoint {
	t.Helper()
	ep, err := Listen("udp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pair connects a client to a new server and returns both ends.
func pair(t testing.TB, scfg, ccfg *Config) (client, server *Conn) {
	t.Helper()
	ep := listen(t, scfg)
	return dialAccept(t, ep, ep.LocalAddr().String(), ccfg)
}

func dialAccept(t testing.TB, ep *Endpoint, addr string, ccfg *Config) (client, server *Conn) {
	t.Helper()
	ctx := testCtx(t)
	type res struct {
		c   *Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ep.Accept(ctx)
		ch <- res{c, err}
	}()
	client, err := Dial(ctx, "udp", addr, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return client, r.c
}

func TestHandshakeAndEcho(t *testing.T) {
	client, server := pair(t, serverConfig(t), clientConfig())
	if p := client.ConnectionState().NegotiatedProtocol; p != testALPN {
		t.Errorf("got ALPN %q, want %q", p, testALPN)
	}
	echoServer(t, server)
	echoRoundTrip(t, client, bytes.Repeat([]byte("hello quic "), 5000))
}

func TestCloseWithErrorReachesPeer(t *testing.T) {
	client, server := pair(t, serverConfig(t), clientConfig())
	server.CloseWithError(0x42, "bye")
	select {
	case <-client.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client did not see the close")
	}
	var ae *ApplicationError
	if err := client.Err(); !errors.As(err, &ae) || ae.Code != 0x42 ||
		ae.Reason != "bye" || !ae.Remote {
		t.Errorf("got %v, want remote application error 0x42 bye", err)
	}
}

func TestALPNMismatchFails(t *testing.T) {
	ep := listen(t, serverConfig(t))
	cc := clientConfig()
	cc.TLSConfig.NextProtos = []string{"other"}
	_, err := Dial(testCtx(t), "udp", ep.LocalAddr().String(), cc)
	var te *TransportError
	if !errors.As(err, &te) || te.Code != CryptoErrorBase+120 {
		t.Errorf("got %v, want CRYPTO_ERROR no_application_protocol (0x178)", err)
	}
}
