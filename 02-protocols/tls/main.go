// TLS: what crypto/tls negotiates, what a tap in the middle sees of it,
// and the failures a reader will meet.
//
//	go run ./02-protocols/tls
//
// Look for: the hybrid post-quantum key exchange X25519MLKEM768 Go offers by
// default (and its 1.5 KB ClientHello) against classic X25519; ladders of
// the records a tap decodes between client and server over a 15 ms link,
// TLS 1.2 taking two round trips with its handshake readable and TLS 1.3
// one with everything after the ServerHello encrypted; resumption with
// tickets saving a round trip in 1.2 and the certificate in 1.3; and five
// failures with their errors on both sides. SSLKEYLOGFILE makes any run
// decryptable in Wireshark (see README.md). Serve HTTPS for curl:
//
//	go run ./02-protocols/tls -serve 127.0.0.1:8443
//	curl --cacert <the CA file it prints> https://localhost:8443/
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"

	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	var caFile, serverName string
	p := demo.New("tls", "TLS: negotiation, records on the wire, failures, resumption.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl)
				return err
			},
			Serve: serve,
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return connect(ctx, addr, caFile, serverName, tl)
			},
		})
	p.Flags.StringVar(&caFile, "cacert", "",
		"with -connect: trust the CA certificates in this PEM `file` "+
			"(default: the system's roots)")
	p.Flags.StringVar(&serverName, "servername", "",
		"with -connect: the name to send as SNI and verify (default: the host of ADDR)")
	p.Main()
}

// serve serves HTTPS on addr with a certificate from a fresh CA, whose
// certificate it writes to a file for curl --cacert.
func serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	ca, err := certs.NewCA()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "backend-protocols-ca-*.pem")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(ca.PEM()); err != nil {
		f.Close()
		return err
	}
	f.Close()
	cfg, err := ca.ServerConfig()
	if err != nil {
		return err
	}
	ln, err := demo.Listen(addr)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	tl.Note("server", "CA certificate in %s", f.Name())
	tl.Note("server", "try: curl --cacert %s https://localhost:%s/", f.Name(), port)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := r.TLS
		line := fmt.Sprintf("%s %s %s, ALPN %q, SNI %q", tls.VersionName(st.Version),
			tls.CipherSuiteName(st.CipherSuite), st.CurveID, st.NegotiatedProtocol,
			st.ServerName)
		tl.Send(r.RemoteAddr, "server", "%s %s over %s", r.Method, r.URL, line)
		fmt.Fprintf(w, "hello over %s\n", line)
	})
	return demo.ServeHTTP(ctx, &http.Server{Handler: h, TLSConfig: cfg}, ln)
}

// connect runs a TLS handshake with a server elsewhere and prints what it
// negotiated.
func connect(ctx context.Context, addr, caFile, name string, tl *timeline.Timeline) error {
	cfg := &tls.Config{ServerName: name, NextProtos: []string{"h2", "http/1.1"},
		KeyLogWriter: certs.KeyLogWriter()}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return err
		}
		cfg.ServerName = host
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("no certificates in %s", caFile)
		}
	}
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	tl.Note("client", "connected to %s as %q", addr, cfg.ServerName)
	printState(tl, c.(*tls.Conn).ConnectionState())
	return nil
}
