// Package variant holds the ways to fetch one HTTPS resource that chapter
// 3 measures, each as a server on a lab's server host and a client on its
// client host: TCP with TLS 1.2 or TLS 1.3, full or resumed, with or
// without TCP Fast Open; TLS 1.3 with 0-RTT early data over TCP (the
// earlytls engine); HTTP/3 over QUIC, with or without 0-RTT (the engines
// of 02-protocols/http3). Each demo of the chapter drives some of them;
// compare drives them all. Real mode (-serve, -connect) serves or fetches
// on a real network instead of the lab.
package variant

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"

	"backend-protocols/03-https/internal/lab"
)

// Body is what every server answers to GET /.
const Body = "hello from the server\n"

// Curves is the key exchange every client offers: X25519 alone. Go's
// default adds the post-quantum hybrid X25519MLKEM768, whose 1.2 KB key
// share makes the ClientHello about 1.5 KB: too big for the data a SYN
// can carry (TCP Fast Open then saves nothing) and for one QUIC Initial
// packet. The tfo demo shows that; the rest of the chapter compares
// handshakes with a ClientHello that fits anywhere.
var Curves = []tls.CurveID{tls.X25519}

// handler answers GET / with Body and says which protocol carried it.
func handler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, Body)
}

// serverConfig returns a TLS configuration for the lab's server host,
// speaking versions min to max, with HTTP/1.1 as its only ALPN protocol
// (one request per connection; HTTP/2 would change nothing but the bytes)
// and the lab's key log.
func serverConfig(l *lab.Lab, min, max uint16) (*tls.Config, error) {
	cfg, err := l.CA.ServerConfig(l.ServerHost(), "localhost", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	cfg.MinVersion, cfg.MaxVersion = min, max
	cfg.NextProtos = []string{"http/1.1"}
	cfg.KeyLogWriter = l.Keys
	return cfg, nil
}

// clientConfig returns a TLS client configuration that trusts the lab's
// CA, offers Curves, caches sessions in cache and logs keys to the lab.
func clientConfig(l *lab.Lab, max uint16, cache tls.ClientSessionCache) *tls.Config {
	cfg := l.CA.ClientConfig()
	cfg.MaxVersion = max
	cfg.CurvePreferences = Curves
	cfg.ClientSessionCache = cache
	cfg.NextProtos = []string{"http/1.1"}
	cfg.KeyLogWriter = l.Keys
	return cfg
}

// tlsNotes describes a client's view of a TLS connection.
func tlsNotes(cs *tls.ConnectionState) []string {
	if cs == nil {
		return nil
	}
	resumed := "full handshake"
	if cs.DidResume {
		resumed = "resumed"
	}
	return []string{fmt.Sprintf("%s, %s, %s, %s",
		strings.Replace(tls.VersionName(cs.Version), "TLS ", "TLS ", 1),
		tls.CipherSuiteName(cs.CipherSuite), cs.CurveID, resumed)}
}

// newCache returns a client's session cache.
func newCache() tls.ClientSessionCache { return tls.NewLRUClientSessionCache(4) }

// postBody is what a POST sends.
const postBody = "order=1"

// readResponse reads and closes resp's body and checks that a 200 carries
// Body; it returns the status code.
func readResponse(resp *http.Response) (int, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	if resp.StatusCode == http.StatusOK && string(b) != Body {
		return 0, fmt.Errorf("got %s %q, want %q", resp.Status, b, Body)
	}
	return resp.StatusCode, nil
}
