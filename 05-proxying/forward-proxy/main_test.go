package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

// running names the goroutines that must all be gone when a test ends:
// leak.Check also counts this process's descriptors before and after.
var running = []string{"main.(*proxy)", "lb.Relay", "demo.ServeConns",
	"net/http.(*conn).serve", "net/http.(*persistConn)"}

func TestScenario(t *testing.T) {
	leak.Check(t, running...)
	res, err := scenario(context.Background(), timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("http: the proxy reads everything", func(t *testing.T) {
		saw := strings.Join(res.ProxySawHTTP, "\n")
		for _, want := range []string{"GET http://localhost:", "/headers?card=4111-1111",
			"Authorization: Bearer tok-4242", "Cookie: session=s3cr3t"} {
			if !strings.Contains(saw, want) {
				t.Errorf("proxy saw:\n%s\nwant %q", saw, want)
			}
		}
		if !strings.Contains(res.HTTPOriginSaw, "Via: 1.1 proxy\n") {
			t.Errorf("origin saw:\n%s\nwant Via: 1.1 proxy", res.HTTPOriginSaw)
		}
		for _, hop := range []string{"X-Trace", "Connection"} {
			if strings.Contains(res.HTTPOriginSaw, hop) {
				t.Errorf("origin saw:\n%s\nwant hop-by-hop %s removed", res.HTTPOriginSaw, hop)
			}
		}
	})
	t.Run("https: the proxy reads host and port", func(t *testing.T) {
		saw := strings.Join(res.ProxySawHTTPS, "\n")
		if !strings.Contains(saw, "CONNECT localhost:") || !strings.Contains(saw, "tunnel to") {
			t.Errorf("proxy saw:\n%s\nwant the CONNECT and the tunnel's end", saw)
		}
		for _, secret := range []string{"tok-4242", "s3cr3t", "card", "/headers"} {
			if strings.Contains(saw, secret) {
				t.Errorf("proxy saw %q through a tunnel:\n%s", secret, saw)
			}
		}
		if res.HTTPSAnswer != "bank" || res.HTTPSVerified != "localhost" {
			t.Errorf("got %q with a certificate for %q, want bank, localhost", res.HTTPSAnswer, res.HTTPSVerified)
		}
	})
	t.Run("refused", func(t *testing.T) {
		for req, line := range res.Refused {
			want := "403"
			if strings.HasPrefix(req, "GET /") || strings.Contains(req, "nowhere") {
				want = "400"
			}
			if !strings.HasPrefix(line, "HTTP/1.1 "+want) {
				t.Errorf("%s: got %q, want %s", req, line, want)
			}
		}
		if len(res.Refused) != 5 {
			t.Errorf("got %d refusals, want 5", len(res.Refused))
		}
	})
	t.Run("auth", func(t *testing.T) {
		if res.NoAuth != 407 || res.BadPW != 407 {
			t.Errorf("got %d without and %d with a wrong password, want 407 both", res.NoAuth, res.BadPW)
		}
		if !strings.Contains(res.WithAuth, "Via: 1.1 proxy") || strings.Contains(res.WithAuth, "Proxy-Authorization") {
			t.Errorf("with credentials the origin saw:\n%s\nwant it served, without Proxy-Authorization", res.WithAuth)
		}
	})
	t.Run("half-close", func(t *testing.T) {
		if res.HalfClose != "sink read 100000 bytes\n" {
			t.Errorf("got %q, want the sink's count after our FIN", res.HalfClose)
		}
	})
}

// startServe runs serve on a fresh port with extra allowed ports and
// returns its address.
func startServe(t *testing.T, sc serveConfig) string {
	t.Helper()
	return lb.ServeForTest(t, func(ctx context.Context, ln net.Listener) error {
		return serve(ctx, ln, timeline.Quiet(), sc)
	})
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// TestCurl drives -serve with curl -x: http through the proxy, https
// through a CONNECT tunnel, a refused destination, and Basic auth.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	leak.Check(t, running...)
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	shop, err := lb.StartBackend("b1", lb.BackendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	conf, _ := ca.ServerConfig()
	bank, err := lb.StartBackend("b2", lb.BackendOptions{TLS: conf})
	if err != nil {
		t.Fatal(err)
	}
	defer bank.Close()
	proxyAddr := startServe(t, serveConfig{Ports: []int{portOf(shop.Addr), portOf(bank.Addr)}, CA: ca})
	authAddr := startServe(t, serveConfig{Ports: []int{portOf(shop.Addr)}, CA: ca,
		User: "alice", Pass: "wonderland"})
	// run returns the body, the final status and the status of the
	// answer to curl's CONNECT, if it sent one.
	run := func(args ...string) (body, code, connect string) {
		t.Helper()
		args = append([]string{"-s", "--max-time", "10", "-w", "\n%{http_code} %{http_connect}"}, args...)
		out, _ := exec.Command(curl, args...).Output()
		s := string(out)
		i := strings.LastIndex(s, "\n")
		if i < 0 {
			return "", "", ""
		}
		code, connect, _ = strings.Cut(s[i+1:], " ")
		return strings.TrimSpace(s[:i]), code, connect
	}
	shopURL := "http://localhost:" + strconv.Itoa(portOf(shop.Addr)) + "/"
	bankURL := "https://localhost:" + strconv.Itoa(portOf(bank.Addr)) + "/"
	cases := []struct {
		name       string
		args       []string
		body, code string
	}{
		{"http", []string{"-x", "http://" + proxyAddr, shopURL}, "b1", "200"},
		{"https via CONNECT", []string{"-x", "http://" + proxyAddr, "--cacert", caFile, bankURL}, "b2", "200"},
		{"refused port", []string{"-x", "http://" + proxyAddr, "http://127.0.0.1:1/"}, "", "403"},
		{"refused CONNECT", []string{"-x", "http://" + proxyAddr, "-k", "https://192.0.2.1:" +
			strconv.Itoa(portOf(bank.Addr)) + "/"}, "", "CONNECT 403"},
		{"no credentials", []string{"-x", "http://" + authAddr, shopURL}, "", "407"},
		{"credentials", []string{"-x", "http://alice:wonderland@" + authAddr, shopURL}, "b1", "200"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, code, connect := run(c.args...)
			if strings.HasPrefix(c.code, "CONNECT ") {
				code = "CONNECT " + connect
			}
			if code != c.code || (c.body != "" && body != c.body) {
				t.Errorf("curl %s: got %s %q, want %s %q", strings.Join(c.args, " "), code, body, c.code, c.body)
			}
		})
	}
}

// TestBadInput: malformed requests, a dead or resetting origin, and a
// client that vanishes in the middle of a tunnel.
func TestBadInput(t *testing.T) {
	leak.Check(t, running...)
	shop, err := lb.StartBackend("b1", lb.BackendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer shop.Close()
	sink, err := lb.StartSink("sink")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := portOf(closed.Addr().String())
	closed.Close()
	ca, _ := certs.NewCA()
	addr := startServe(t, serveConfig{CA: ca,
		Ports: []int{portOf(shop.Addr), portOf(sink.Addr), closedPort}})
	ctx := context.Background()
	for req, want := range map[string]string{
		"BREW /pot HTCPCP/1.0\r\n\r\n":                                                  "400",
		"GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n":                                   "400",
		fmt.Sprintf("CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n", closedPort):                "502",
		fmt.Sprintf("GET http://127.0.0.1:%d/ HTTP/1.1\r\nHost: x\r\n\r\n", closedPort): "502",
		"CONNECT 127.0.0.1:0 HTTP/1.1\r\n\r\n":                                          "403",
	} {
		line, err := rawRequest(ctx, addr, req)
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 "+want) {
			t.Errorf("%q: got %q, %v; want %s", req, line, err, want)
		}
	}
	shop.SetReset(true)
	line, _ := rawRequest(ctx, addr, fmt.Sprintf("GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n", shop.Addr, shop.Addr))
	if !strings.HasPrefix(line, "HTTP/1.1 502") {
		t.Errorf("origin resets: got %q, want 502", line)
	}
	shop.SetReset(false)
	// Clients that open a tunnel, send half a message and reset.
	for range 10 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\n\r\n", sink.Addr)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if line, _ := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("CONNECT to the sink: got %q", line)
		}
		io.WriteString(c, "half a message")
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
}
