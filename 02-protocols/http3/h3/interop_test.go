package h3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"backend-protocols/02-protocols/http3/quic"
	"backend-protocols/internal/netem"
)

// The tests in this file check the engine against independent HTTP/3
// implementations installed on the machine: ngtcp2's client from Debian
// (gtlsclient, package ngtcp2-client) and h3peer, a quic-go client and
// server built outside the repo by .ci/setup.d/http3-peers.sh. Each
// skips when its program is missing.

func need(t *testing.T, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Skipf("%s not installed (see .ci/packages.d/http3, .ci/setup.d/http3-peers.sh)", prog)
	}
	return p
}

// interopMux adds handlers the peers' tests use to the test mux.
func interopMux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", testMux())
	// /drip sends 100 chunks 5 ms apart: long enough to migrate during.
	mux.HandleFunc("GET /early", func(w http.ResponseWriter, r *http.Request) {
		if IsEarly(r) {
			w.Write([]byte("early"))
		} else {
			w.Write([]byte("late"))
		}
	})
	mux.HandleFunc("GET /drip", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("d"), 10000)
		for range 100 {
			w.Write(chunk)
			w.(http.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
	})
	return mux
}

// ngtcp2 runs gtlsclient against addr for the paths, saving the bodies
// into dir, and returns its log.
func ngtcp2(t *testing.T, addr, dir string, extra []string, paths ...string) (string, error) {
	t.Helper()
	bin := need(t, "gtlsclient")
	host, port, _ := strings.Cut(addr, ":")
	args := append([]string{"--no-quic-dump", "--no-http-dump",
		"--exit-on-all-streams-close", "--timeout=5s", "--download=" + dir},
		extra...)
	args = append(args, host, port)
	for _, p := range paths {
		args = append(args, "https://"+addr+p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}

// TestNgtcp2Client runs ngtcp2's client against the engine's server: two
// requests on one connection, a key update it initiates, an active
// migration to a new local port (it probes with PATH_CHALLENGE on a new
// connection id, the server follows and validates), a NAT rebinding
// (same id, new port, the server validates the new path), and a
// ChaCha20-only offer, which the engine refuses with a clear reason.
func TestNgtcp2Client(t *testing.T) {
	need(t, "gtlsclient")
	_, addr := startServer(t, interopMux(), func(s *Server) {
		s.QUICConfig = &quic.Config{Allow0RTT: true}
	})
	cases := []struct {
		name  string
		extra []string
		files map[string]int // downloaded file -> size
		want  []string       // in the log
	}{
		{"two requests", nil, map[string]int{
			"hello": len("hello  via " + addr), "big": 1000000}, nil},
		{"key update", []string{"--key-update=20ms"},
			map[string]int{"drip": 1000000},
			[]string{"Initiate key update", "type=1RTT k=1"}},
		{"active migration", []string{"--change-local-addr=50ms"},
			map[string]int{"drip": 1000000},
			[]string{"Changing local address", "PATH_RESPONSE", "PATH_CHALLENGE"}},
		// The request leaves after the rebinding, so the server hears the
		// new port (ngtcp2 ignores packets to its old one).
		{"NAT rebinding", []string{"--change-local-addr=30ms", "--nat-rebinding",
			"--delay-stream=100ms"}, map[string]int{"drip": 1000000},
			[]string{"Changing local address", "1RTT PATH_CHALLENGE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for f := range tc.files {
				paths = append(paths, "/"+f)
			}
			out, err := ngtcp2(t, addr, dir, tc.extra, paths...)
			if err != nil {
				t.Fatalf("gtlsclient: %v\n%s", err, tail(out))
			}
			if n := strings.Count(out, "closed with error code 256"); n != len(paths) {
				t.Errorf("got %d streams closed with H3_NO_ERROR, want %d\n%s",
					n, len(paths), tail(out))
			}
			for f, size := range tc.files {
				st, err := os.Stat(filepath.Join(dir, f))
				if err != nil || st.Size() != int64(size) {
					t.Errorf("%s: got %v, want %d bytes", f, err, size)
				}
			}
			for _, w := range tc.want {
				// The client's log shows frames it sent (tx) and
				// received (rx); PATH_CHALLENGE must be one it received.
				if w == "1RTT PATH_CHALLENGE" {
					if !regexp.MustCompile(`frm rx \d+ 1RTT PATH_CHALLENGE`).MatchString(out) {
						t.Errorf("log shows no PATH_CHALLENGE from the server")
					}
					continue
				}
				if !strings.Contains(out, w) {
					t.Errorf("log lacks %q", w)
				}
			}
		})
	}
	t.Run("0-RTT after resumption", func(t *testing.T) {
		files := t.TempDir()
		resume := []string{"--session-file=" + filepath.Join(files, "session"),
			"--tp-file=" + filepath.Join(files, "params")}
		if out, err := ngtcp2(t, addr, t.TempDir(), resume, "/early"); err != nil {
			t.Fatalf("first connection: %v\n%s", err, tail(out))
		}
		dir := t.TempDir()
		out, err := ngtcp2(t, addr, dir, resume, "/early")
		if err != nil {
			t.Fatalf("resumed connection: %v\n%s", err, tail(out))
		}
		body, err := os.ReadFile(filepath.Join(dir, "early"))
		if err != nil || string(body) != "early" {
			t.Errorf("got %q, %v; want the request served from 0-RTT", body, err)
		}
		if !strings.Contains(out, "0RTT STREAM") {
			t.Errorf("log shows no STREAM frame in a 0-RTT packet")
		}
	})
	t.Run("ChaCha20 refused clearly", func(t *testing.T) {
		out, _ := ngtcp2(t, addr, t.TempDir(), []string{"--ciphers=NORMAL:" +
			"-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305"}, "/hello")
		if !strings.Contains(out, "CRYPTO_ERROR(0x128)") ||
			!strings.Contains(out, "only the AES-GCM suites") {
			t.Errorf("want CONNECTION_CLOSE CRYPTO_ERROR handshake_failure "+
				"with a reason:\n%s", tail(out))
		}
	})
}

// tail returns the end of a long log.
func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}

// writePEM writes the CA certificate and a server certificate with its
// key into dir, for peers that read files. The key lives only there.
func writePEM(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	ca, cert, key, err := testCA().WriteServerFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ca, cert, key
}

// TestQuicGoClient: quic-go's HTTP/3 client against the engine's server.
func TestQuicGoClient(t *testing.T) {
	bin := need(t, "h3peer")
	_, addr := startServer(t, interopMux())
	ca, _, _ := writePEM(t, t.TempDir())
	base := "https://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "get", "-ca", ca,
		base+"/hello?name=quic-go", base+"/big", base+"/missing").CombinedOutput()
	if err != nil {
		t.Fatalf("h3peer get: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	hello := "hello quic-go via " + addr
	want := []string{fmt.Sprintf("200 %d HTTP/3.0 %q", len(hello), hello),
		"200 1000000 HTTP/3.0", "404 19 HTTP/3.0"}
	if len(lines) != len(want) {
		t.Fatalf("got %q, want %d lines", lines, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d: got %q, want prefix %q", i, lines[i], want[i])
		}
	}
	out, err = exec.CommandContext(ctx, bin, "get", "-ca", ca, "-X", "POST",
		"-d", "ping from quic-go", base+"/echo").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), `200 17 HTTP/3.0 "ping from quic-go"`) {
		t.Errorf("POST: got %q, %v", out, err)
	}
}

// TestClientAgainstQuicGoServer: the engine's Transport against
// quic-go's HTTP/3 server.
func TestClientAgainstQuicGoServer(t *testing.T) {
	bin := need(t, "h3peer")
	_, cert, key := writePEM(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "-addr", "127.0.0.1:0",
		"-cert", cert, "-key", key)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if err != nil || !ok {
		t.Fatalf("h3peer serve said %q, %v", line, err)
	}
	tc := testCA().ClientConfig()
	tc.ServerName = "localhost"
	tr := &Transport{TLSClientConfig: tc}
	defer tr.Close()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	base := "https://" + addr
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello from quic-go over HTTP/3.0\n" {
		t.Errorf("GET /: got %d %q", resp.StatusCode, b)
	}
	resp, err = client.Get(base + "/bytes/3000000")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != 3000000 || resp.ContentLength != 3000000 {
		t.Errorf("GET /bytes: got %d bytes (Content-Length %d), %v", n,
			resp.ContentLength, err)
	}
	body := strings.Repeat("echo ", 20000)
	resp, err = client.Post(base+"/echo", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != body {
		t.Errorf("POST /echo: got %d bytes back, want %d", len(b), len(body))
	}

	// Resumption with 0-RTT: quic-go's HTTP/3 server accepts early data.
	// Through a relay with a 20 ms round trip, so that the request is
	// written before the handshake completes and travels in 0-RTT.
	p := netem.Path{Delay: 10 * time.Millisecond}
	relay, err := netem.NewUDPRelay("127.0.0.1:0", addr, p, p)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	base = "https://" + relay.Addr().String()
	cache := tls.NewLRUClientSessionCache(4)
	var mu sync.Mutex
	early := 0
	fetch := func(dial0RTT bool) *Transport {
		tc := testCA().ClientConfig()
		tc.ServerName = "localhost"
		tc.ClientSessionCache = cache
		tr := &Transport{TLSClientConfig: tc, QUICConfig: &quic.Config{
			Trace: func(e quic.PacketEvent) {
				if e.Sent && e.Type == quic.Packet0RTT {
					mu.Lock()
					early++
					mu.Unlock()
				}
			}}}
		if dial0RTT {
			tr.Dial = func(ctx context.Context, a string, c *quic.Config) (*quic.Conn, error) {
				return quic.DialEarly(ctx, "udp", a, c)
			}
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return tr
	}
	tr1 := fetch(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := cache.Get("localhost"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no session ticket from quic-go")
		}
		time.Sleep(time.Millisecond)
	}
	tr1.Close()
	tr2 := fetch(true)
	defer tr2.Close()
	qc := tr2.Conn(relay.Addr().String())
	mu.Lock()
	defer mu.Unlock()
	if qc == nil || !qc.Used0RTT() || early == 0 {
		t.Errorf("0-RTT with quic-go: used=%v, %d 0-RTT packets sent; want both",
			qc != nil && qc.Used0RTT(), early)
	}
}

// TestChromium loads a page from the engine's server in headless
// Chromium, forced onto QUIC for the origin and told to trust the
// server's key by its SPKI hash.
func TestChromium(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("chromium not installed (see .ci/packages.d/http3)")
	}
	var mu sync.Mutex
	var oneRTT int
	s, addr := startServer(t, interopMux(), func(s *Server) {
		s.QUICConfig = &quic.Config{Trace: func(e quic.PacketEvent) {
			if !e.Sent && e.Type == quic.Packet1RTT {
				mu.Lock()
				oneRTT++
				mu.Unlock()
			}
		}}
	})
	sum := sha256.Sum256(s.TLSConfig.Certificates[0].Leaf.RawSubjectPublicKeyInfo)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox",
		"--disable-gpu", "--user-data-dir="+t.TempDir(),
		"--origin-to-force-quic-on="+addr,
		"--ignore-certificate-errors-spki-list="+base64.StdEncoding.EncodeToString(sum[:]),
		"--dump-dom", "https://"+addr+"/hello?name=chromium").CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, tail(string(out)))
	}
	if want := "hello chromium via " + addr; !strings.Contains(string(out), want) {
		t.Errorf("page lacks %q:\n%s", want, tail(string(out)))
	}
	mu.Lock()
	defer mu.Unlock()
	if oneRTT == 0 {
		t.Errorf("server received no 1-RTT packets: the page did not come over QUIC")
	}
}
