package interop

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"backend-protocols/02-protocols/grpc/grpcwire"
	"backend-protocols/internal/certs"
)

// serve runs the engine's server with TestService over h2c, or TLS if ca
// is set, and returns its host:port.
func serve(t *testing.T, ca *certs.CA) string {
	t.Helper()
	srv := &grpcwire.Server{}
	Register(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, Protocols: new(http.Protocols)}
	if ca != nil {
		if hs.TLSConfig, err = ca.ServerConfig(); err != nil {
			t.Fatal(err)
		}
		hs.Protocols.SetHTTP2(true)
		go hs.ServeTLS(ln, "", "")
	} else {
		hs.Protocols.SetUnencryptedHTTP2(true)
		go hs.Serve(ln)
	}
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// client returns the engine's client for addr.
func client(t *testing.T, addr string, ca *certs.CA) *grpcwire.Client {
	t.Helper()
	tr, scheme := grpcwire.H2C(), "http"
	if ca != nil {
		cfg := ca.ClientConfig()
		cfg.ServerName = "localhost"
		tr, scheme = grpcwire.TLS(cfg), "https"
	}
	t.Cleanup(tr.CloseIdleConnections)
	return grpcwire.NewClient(scheme+"://"+addr, tr)
}

func runCases(t *testing.T, c *grpcwire.Client) {
	t.Helper()
	for _, name := range CaseNames {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := Cases[name](ctx, c); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestOurClientAgainstOurServer runs every case with the engine on both
// sides, in clear text and over TLS.
func TestOurClientAgainstOurServer(t *testing.T) {
	t.Run("h2c", func(t *testing.T) { runCases(t, client(t, serve(t, nil), nil)) })
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("TLS", func(t *testing.T) { runCases(t, client(t, serve(t, ca), ca)) })
}

// writeTLSFiles writes a server certificate and key from ca, and the CA
// certificate, for peers that read files. They live in the test's
// temporary directory only.
func writeTLSFiles(t *testing.T, ca *certs.CA) (cert, key, caFile string) {
	t.Helper()
	c, err := ca.Server()
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key, caFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"),
		filepath.Join(dir, "ca.pem")
	var chain []byte
	for _, d := range c.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	for path, b := range map[string][]byte{cert: chain, caFile: ca.PEM(),
		key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cert, key, caFile
}

// peer finds an independent gRPC program installed by .ci/setup.d/grpc.sh.
func peer(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (.ci/setup.d/grpc.sh builds it from grpc-go)", name)
	}
	return path
}

// startGrpcGo runs grpc-go's interop server and returns its address.
func startGrpcGo(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(peer(t, "grpc-interop-server"), args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	select {
	case addr, ok := <-line:
		if !ok {
			t.Fatal("grpc-interop-server printed no address")
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("grpc-interop-server did not start in 10s")
	}
	return ""
}

// TestOurClientAgainstGrpcGo runs every case with the engine's client
// against grpc-go's interop server, an independent implementation of
// gRPC and of HTTP/2, in clear text and over TLS.
func TestOurClientAgainstGrpcGo(t *testing.T) {
	t.Run("h2c", func(t *testing.T) { runCases(t, client(t, startGrpcGo(t), nil)) })
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, key, _ := writeTLSFiles(t, ca)
	t.Run("TLS", func(t *testing.T) {
		addr := startGrpcGo(t, "-tls_cert_file", cert, "-tls_key_file", key)
		runCases(t, client(t, addr, ca))
	})
}

// TestGrpcGoClientAgainstOurServer runs grpc-go's interop client, one
// process per case, against the engine's server.
func TestGrpcGoClientAgainstOurServer(t *testing.T) {
	bin := peer(t, "grpc-interop-client")
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	_, _, caFile := writeTLSFiles(t, ca)
	for _, mode := range []string{"h2c", "TLS"} {
		t.Run(mode, func(t *testing.T) {
			var tlsArgs []string
			addr := ""
			if mode == "TLS" {
				addr = serve(t, ca)
				tlsArgs = []string{"--use_tls=true", "--use_test_ca=true", "--ca_file=" + caFile,
					"--server_host_override=localhost"}
			} else {
				addr = serve(t, nil)
			}
			host, port, _ := net.SplitHostPort(addr)
			for _, name := range CaseNames {
				t.Run(name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					args := append([]string{"--server_host=" + host, "--server_port=" + port,
						"--test_case=" + name}, tlsArgs...)
					out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
					if err != nil {
						t.Errorf("grpc-go's client: %v\n%s", err, out)
					}
				})
			}
		})
	}
}

// FuzzMessages decodes arbitrary bytes as every message type: errors
// are fine, panics are not, and what decodes re-encodes and decodes.
func FuzzMessages(f *testing.F) {
	f.Add((&SimpleRequest{ResponseSize: 3, Payload: zeros(4),
		ResponseStatus: &EchoStatus{Code: 2, Message: "m"}}).MarshalAppend(nil))
	f.Add((&StreamingOutputCallRequest{ResponseParameters: []*ResponseParameters{
		{Size: 1, IntervalUs: 2}}}).MarshalAppend(nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, m := range []grpcwire.Message{&Empty{}, &BoolValue{}, &Payload{},
			&EchoStatus{}, &SimpleRequest{}, &SimpleResponse{},
			&StreamingInputCallRequest{}, &StreamingInputCallResponse{},
			&ResponseParameters{}, &StreamingOutputCallRequest{},
			&StreamingOutputCallResponse{}} {
			if err := m.Unmarshal(in); err != nil {
				continue
			}
			if err := m.Unmarshal(m.MarshalAppend(nil)); err != nil {
				t.Fatalf("%T: re-encoding of % x does not decode: %v", m, in, err)
			}
		}
	})
}
