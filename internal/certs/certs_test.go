package certs

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func newCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestServerCertCoversLocalNames(t *testing.T) {
	ca := newCA(t)
	cert, err := ca.Server()
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range DefaultHosts {
		_, err := cert.Leaf.Verify(x509.VerifyOptions{
			DNSName: host, Roots: ca.Pool()})
		if err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{
		DNSName: "example.com", Roots: ca.Pool()}); err == nil {
		t.Error("certificate verified for example.com, want an error")
	}
	other := newCA(t)
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{
		DNSName: "localhost", Roots: other.Pool()}); err == nil {
		t.Error("certificate verified against another CA, want an error")
	}
}

// handshake runs one TLS handshake over a real TCP connection and returns
// the client's and the server's errors.
func handshake(t *testing.T, server, client *tls.Config) (cerr, serr error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		err = c.(*tls.Conn).Handshake()
		if err == nil {
			_, err = io.WriteString(c, "ok")
		}
		done <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		buf := make([]byte, 2)
		_, err = io.ReadFull(c, buf)
		c.Close()
	}
	return err, <-done
}

func TestTLSHandshakeVerifies(t *testing.T) {
	ca := newCA(t)
	srv, err := ca.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	cli := ca.ClientConfig()
	cli.ServerName = "localhost"
	if cerr, serr := handshake(t, srv, cli); cerr != nil || serr != nil {
		t.Fatalf("client: %v, server: %v", cerr, serr)
	}
	// A client trusting another CA must refuse.
	stranger := newCA(t).ClientConfig()
	stranger.ServerName = "localhost"
	cerr, _ := handshake(t, srv, stranger)
	var unknown x509.UnknownAuthorityError
	if !errors.As(cerr, &unknown) {
		t.Errorf("got %v, want an unknown-authority error", cerr)
	}
}

func TestMutualTLS(t *testing.T) {
	ca := newCA(t)
	srv, cli, err := ca.MutualConfigs("alice")
	if err != nil {
		t.Fatal(err)
	}
	cli.ServerName = "127.0.0.1"
	if cerr, serr := handshake(t, srv, cli); cerr != nil || serr != nil {
		t.Fatalf("client: %v, server: %v", cerr, serr)
	}
	anon := ca.ClientConfig()
	anon.ServerName = "127.0.0.1"
	if _, serr := handshake(t, srv, anon); serr == nil {
		t.Error("server accepted a client without a certificate")
	}
}

func TestPEMHasNoKey(t *testing.T) {
	p := newCA(t).PEM()
	b, rest := pem.Decode(p)
	if b == nil || b.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("got PEM %q", p)
	}
	if strings.Contains(string(p), "PRIVATE") {
		t.Error("PEM holds a private key")
	}
}

// TestKeyLog runs in a child process because the key-log file is opened
// once per process.
func TestKeyLog(t *testing.T) {
	if path := os.Getenv("CERTS_TEST_KEYLOG"); path != "" {
		os.Setenv(KeyLogEnv, path)
		ca := newCA(t)
		srv, _ := ca.ServerConfig()
		cli := ca.ClientConfig()
		cli.ServerName = "localhost"
		if cerr, serr := handshake(t, srv, cli); cerr != nil || serr != nil {
			t.Fatalf("client: %v, server: %v", cerr, serr)
		}
		return
	}
	path := t.TempDir() + "/keys"
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeyLog$")
	cmd.Env = append(os.Environ(), "CERTS_TEST_KEYLOG="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	labels := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		labels[strings.Fields(sc.Text())[0]]++
	}
	// TLS 1.3 logs four secrets per side; client and server share a file.
	for _, l := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
		"SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
		"SERVER_TRAFFIC_SECRET_0"} {
		if labels[l] != 2 {
			t.Errorf("got %d %s lines, want 2 (client and server)",
				labels[l], l)
		}
	}
}

func TestWriteServerFiles(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile, err := ca.WriteServerFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pemCA, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemCA) {
		t.Fatal("no CA certificate in ca.pem")
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost"}); err != nil {
		t.Errorf("written certificate does not verify against ca.pem: %v", err)
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v, want 0600", st.Mode(), err)
	}
}
