package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"backend-protocols/02-protocols/http3/h3"
	"backend-protocols/02-protocols/http3/quic"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// caFileName is where -serve writes the CA certificate for clients.
const caFileName = "http3-demo-ca.pem"

// altSvc advertises the HTTP/3 endpoint on the same port (RFC 9114,
// Section 3.1.1), so a browser that came over TCP switches to QUIC.
func altSvc(port string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Alt-Svc", fmt.Sprintf(`h3=":%s"; ma=86400`, port))
		h.ServeHTTP(w, r)
	})
}

// serving is a running -serve: HTTP/3 on UDP and HTTPS on TCP, on one
// port.
type serving struct {
	Addr   string // host:port of both
	CAPath string // where the CA certificate was written
	SPKI   string // base64 SHA-256 of the server key, for Chromium

	h3srv  *h3.Server
	h3done chan error
	https  *demo.Running
}

// startServe starts the servers on addr. With port 0 it picks a port
// free for both UDP and TCP.
func startServe(ctx context.Context, addr string, tl *timeline.Timeline) (*serving, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ca, err := certs.NewCA()
	if err != nil {
		return nil, err
	}
	s := &serving{CAPath: filepath.Join(os.TempDir(), caFileName)}
	if err := os.WriteFile(s.CAPath, ca.PEM(), 0o644); err != nil {
		return nil, err
	}
	hosts := certs.DefaultHosts
	if host != "" && !slices.Contains(hosts, host) {
		hosts = append(slices.Clone(hosts), host)
	}
	tc, err := ca.ServerConfig(hosts...)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(tc.Certificates[0].Leaf.RawSubjectPublicKeyInfo)
	s.SPKI = base64.StdEncoding.EncodeToString(sum[:])
	var ep *quic.Endpoint
	for try := 0; ; try++ {
		s.h3srv = &h3.Server{TLSConfig: tc}
		if ep, err = s.h3srv.Listen(addr); err != nil {
			return nil, err
		}
		_, p, _ := net.SplitHostPort(ep.LocalAddr().String())
		s.Addr = net.JoinHostPort(host, p)
		handler := altSvc(p, app(tl, nil))
		s.h3srv.Handler = handler
		s.https, err = demo.StartHTTP(ctx, &http.Server{Handler: handler,
			TLSConfig: tc}, s.Addr)
		if err == nil {
			break
		}
		ep.Close()
		if port != "0" || try == 10 {
			return nil, err
		}
	}
	s.h3done = make(chan error, 1)
	go func() { s.h3done <- s.h3srv.Serve(ep) }()
	return s, nil
}

// Close stops both servers.
func (s *serving) Close() error {
	err := s.https.Close()
	s.h3srv.Close()
	if herr := <-s.h3done; !errors.Is(herr, h3.ErrServerClosed) && err == nil {
		err = herr
	}
	return err
}

// serve runs HTTP/3 on UDP addr and HTTPS (HTTP/2 and 1.1, with Alt-Svc)
// on TCP addr until ctx is done.
func serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	s, err := startServe(ctx, addr, tl)
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(s.Addr)
	url := "https://" + s.Addr
	tl.Note("server", "HTTP/3 on udp/%s, HTTPS with Alt-Svc on tcp/%s", s.Addr, s.Addr)
	tl.Note("server", "CA certificate written to %s", s.CAPath)
	tl.Printf("try:")
	tl.Printf("  curl -si --cacert %s %s/          # TCP; see the alt-svc header", s.CAPath, url)
	tl.Printf("  chromium --origin-to-force-quic-on=%s --ignore-certificate-errors-spki-list=%s %s/",
		s.Addr, s.SPKI, url)
	tl.Printf("  gtlsclient --exit-on-all-streams-close %s %s %s/bytes/100000", host, port, url)
	tl.Printf("  go run ./02-protocols/http3 -connect %s -cacert %s", s.Addr, s.CAPath)
	<-ctx.Done()
	return s.Close()
}

// connect fetches "/" from an HTTP/3 server started elsewhere and prints
// the packets and the ladder.
func connect(ctx context.Context, addr, caFile string, tl *timeline.Timeline) error {
	tlsc := &tls.Config{KeyLogWriter: certs.KeyLogWriter()}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("no certificate in %s", caFile)
		}
		tlsc.RootCAs = pool
	}
	log := newWireLog(tl)
	tr := &h3.Transport{TLSClientConfig: tlsc,
		QUICConfig: &quic.Config{Trace: log.tracer("client", "server")}}
	defer tr.Close()
	client := &http.Client{Transport: tr}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/", nil)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	tl.Note("client", "%s %d: %s", resp.Proto, resp.StatusCode,
		strings.TrimSpace(string(b)))
	if qc := tr.Conn(addr); qc != nil {
		st := qc.Stats()
		tl.Note("client", "round-trip time %s, %d packets sent, %d received",
			timeline.Ms(qc.RTT()), st.PacketsSent, st.PacketsReceived)
	}
	tl.Printf("")
	var sb strings.Builder
	timeline.Ladder(&sb, log.events(), "client", "server")
	tl.Printf("%s", strings.TrimRight(sb.String(), "\n"))
	return nil
}
