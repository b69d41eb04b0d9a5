package h3

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"backend-protocols/02-protocols/http3/quic"
)

// startNgtcp2Server runs ngtcp2's HTTP/3 server (gtlsserver, Debian
// package ngtcp2-server) on a free loopback port, serving files from a
// new directory, and returns its address and the directory.
func startNgtcp2Server(t *testing.T, extra ...string) (addr, htdocs string) {
	t.Helper()
	bin := need(t, "gtlsserver")
	dir := t.TempDir()
	_, cert, key := writePEM(t, dir)
	htdocs = filepath.Join(dir, "htdocs")
	os.Mkdir(htdocs, 0o755)
	// Find a free UDP port; gtlsserver wants a number.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"-q", "--htdocs=" + htdocs}, extra...)
	args = append(args, "127.0.0.1", strconv.Itoa(port), key, cert)
	cmd := exec.CommandContext(ctx, bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	addr = "127.0.0.1:" + strconv.Itoa(port)
	waitQUIC(t, addr)
	return addr, htdocs
}

// waitQUIC waits until a QUIC server listens on addr: it answers an
// Initial-sized datagram of an unknown version with Version Negotiation.
func waitQUIC(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	probe := make([]byte, quic.MinInitialDatagram)
	copy(probe, []byte{0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0})
	buf := make([]byte, 1500)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.Write(probe)
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			return
		}
	}
	t.Fatalf("no QUIC server on %s", addr)
}

// get fetches url and reads the body.
func get(t *testing.T, client *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestClientAgainstNgtcp2Server: the engine's client against ngtcp2's
// server, plain, with address validation (ngtcp2 answers with Retry), and
// resuming with 0-RTT.
func TestClientAgainstNgtcp2Server(t *testing.T) {
	need(t, "gtlsserver")
	big := bytes.Repeat([]byte("ngtcp2 "), 300000)
	for _, tc := range []struct {
		name  string
		extra []string
	}{{"plain", nil}, {"Retry", []string{"--validate-addr"}}} {
		t.Run(tc.name, func(t *testing.T) {
			addr, htdocs := startNgtcp2Server(t, tc.extra...)
			os.WriteFile(filepath.Join(htdocs, "big"), big, 0o644)
			tlsc := testCA().ClientConfig()
			tlsc.ServerName = "localhost"
			tr := &Transport{TLSClientConfig: tlsc}
			defer tr.Close()
			client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			resp, b := get(t, client, "https://"+addr+"/big")
			if resp.StatusCode != 200 || !bytes.Equal(b, big) {
				t.Errorf("got %d and %d bytes, want 200 and %d", resp.StatusCode,
					len(b), len(big))
			}
			resp, _ = get(t, client, "https://"+addr+"/missing")
			if resp.StatusCode != 404 {
				t.Errorf("missing file: got %d, want 404", resp.StatusCode)
			}
		})
	}
	// crypto/tls reports a ticket's age from a creation time it keeps in
	// whole seconds, so it usually claims an older ticket than the server
	// saw, and GnuTLS's anti-replay check then refuses the early data
	// ("server ticket age < client ticket age"). The session resumes
	// either way; refused 0-RTT data is sent again in 1-RTT.
	t.Run("resumption and 0-RTT", func(t *testing.T) {
		addr, htdocs := startNgtcp2Server(t)
		os.WriteFile(filepath.Join(htdocs, "small"), []byte("small file"), 0o644)
		cache := tls.NewLRUClientSessionCache(4)
		fetch := func(early bool) (*Transport, []byte) {
			tlsc := testCA().ClientConfig()
			tlsc.ServerName = "localhost"
			tlsc.ClientSessionCache = cache
			tr := &Transport{TLSClientConfig: tlsc}
			if early {
				tr.Dial = func(ctx context.Context, a string, c *quic.Config) (*quic.Conn, error) {
					return quic.DialEarly(ctx, "udp", a, c)
				}
			}
			_, b := get(t, &http.Client{Transport: tr,
				Timeout: 20 * time.Second}, "https://"+addr+"/small")
			return tr, b
		}
		tr, _ := fetch(false)
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, ok := cache.Get("localhost"); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no session ticket from ngtcp2")
			}
			time.Sleep(time.Millisecond)
		}
		tr.Close()
		tr, b := fetch(true)
		defer tr.Close()
		if string(b) != "small file" {
			t.Errorf("got %q", b)
		}
		qc := tr.Conn(addr)
		if qc == nil || !qc.ConnectionState().DidResume {
			t.Fatalf("the second connection did not resume")
		}
		t.Logf("0-RTT accepted=%v refused=%v", qc.Used0RTT(), qc.EarlyDataRejected())
		if qc.Used0RTT() == qc.EarlyDataRejected() {
			t.Errorf("0-RTT neither accepted nor refused")
		}
	})
}
