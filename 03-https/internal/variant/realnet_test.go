package variant

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"backend-protocols/internal/certs"
	"backend-protocols/internal/timeline"
)

// serve runs Serve for r on a loopback port until the test ends and
// returns the address and the CA file.
func serve(t *testing.T, r Real) (addr, caFile string) {
	t.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0", r, timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, ca, timeline.Quiet(), r) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String(), caFile
}

// TestServeAndConnect runs -serve and -connect against each other: the
// second visit resumes, and with early data it goes in the first flight.
func TestServeAndConnect(t *testing.T) {
	for name, r := range map[string]Real{
		"TLS 1.2":    {Version: tls.VersionTLS12},
		"TLS 1.3":    {Version: tls.VersionTLS13},
		"Fast Open":  {Version: tls.VersionTLS13, FastOpen: true},
		"early data": {Early: true},
	} {
		t.Run(name, func(t *testing.T) {
			addr, caFile := serve(t, r)
			r.CAFile, r.ServerName = caFile, "localhost"
			visits, err := Connect(t.Context(), addr, timeline.Quiet(), r)
			if err != nil {
				t.Fatal(err)
			}
			if len(visits) != 2 || visits[0].Resumed || !visits[1].Resumed ||
				visits[1].Early != r.Early {
				t.Errorf("got %+v, want a full visit, then a resumed one (early data %v)",
					visits, r.Early)
			}
		})
	}
}

// TestServeForCurl checks -serve with curl, an independent client: the
// TLS 1.2 server answers curl pinned to TLS 1.2 and refuses TLS 1.3.
func TestServeForCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	addr, caFile := serve(t, Real{Version: tls.VersionTLS12})
	_, port, _ := net.SplitHostPort(addr)
	url := "https://localhost:" + port + "/"
	out, err := exec.Command("curl", "-sS", "--tlsv1.2", "--tls-max", "1.2",
		"--cacert", caFile, url).Output()
	if err != nil || string(out) != Body {
		t.Errorf("curl --tls-max 1.2: got %q, %v; want %q", out, err, Body)
	}
	if err := exec.Command("curl", "-sS", "--tlsv1.3", "--cacert", caFile, url).Run(); err == nil {
		t.Error("curl --tlsv1.3 got an answer from a TLS 1.2 server")
	}
}
