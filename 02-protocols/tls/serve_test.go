package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

// curlServe runs curl against a -serve address with the CA file it printed.
func curlServe(t *testing.T, caFile, port string) string {
	t.Helper()
	out, err := exec.Command("curl", "-sS", "--max-time", "5", "--cacert", caFile,
		"https://localhost:"+port+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v: %s", err, out)
	}
	return string(out)
}

var tryLine = regexp.MustCompile(`try: curl --cacert (\S+) https://localhost:(\d+)/`)

// TestServeWithCurl: -serve answers curl, which verifies the certificate
// against the CA file the demo printed.
func TestServeWithCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	tl := timeline.Quiet()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, "127.0.0.1:0", tl) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	var m []string
	err := waitFor(func() bool {
		for _, e := range tl.Events() {
			if m = tryLine.FindStringSubmatch(e.Text); m != nil {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal("serve never printed its curl line")
	}
	got := curlServe(t, m[1], m[2])
	// curl's OpenSSL may or may not offer the hybrid group; TLS 1.3 it does.
	if !strings.HasPrefix(got, "hello over TLS 1.3 TLS_AES_") ||
		!strings.Contains(got, `SNI "localhost"`) {
		t.Errorf("got %q, want hello over TLS 1.3 with SNI localhost", got)
	}
}

func waitFor(cond func() bool) error {
	deadline := time.Now().Add(ioTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			return context.DeadlineExceeded
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// helperEnv asks the test binary to run -serve on the address it holds.
const helperEnv = "TLS_DEMO_SERVE_HELPER"

// TestServeHelper is not a test: TestKeyLogDecryptsCapture runs the test
// binary again with helperEnv set, so that SSLKEYLOGFILE is read at start
// as in a real run. It serves until its stdin closes.
func TestServeHelper(t *testing.T) {
	addr := os.Getenv(helperEnv)
	if addr == "" {
		t.Skip("a helper process for TestKeyLogDecryptsCapture")
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	if err := serve(ctx, addr, timeline.New(os.Stdout)); err != nil {
		t.Fatal(err)
	}
}

// TestKeyLogDecryptsCapture runs the README's recipe: capture -serve's
// traffic with tshark, then decrypt it with the SSLKEYLOGFILE the demo
// wrote. Without the key log the same command sees no HTTP/2 at all.
func TestKeyLogDecryptsCapture(t *testing.T) {
	for _, tool := range []string{"tshark", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("capturing on lo needs root")
	}
	dir := t.TempDir()
	keys, pcap := filepath.Join(dir, "keys"), filepath.Join(dir, "tls.pcapng")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	ln.Close()

	capture := exec.Command("tshark", "-i", "lo", "-f", "tcp port "+port, "-w", pcap)
	stderr, _ := capture.StderrPipe()
	if err := capture.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if !sent && strings.Contains(sc.Text(), "Capture started") {
				ready <- true
				sent = true
			}
		}
		if !sent {
			ready <- false
		}
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			capture.Process.Signal(os.Interrupt)
			capture.Wait()
		}
	}
	t.Cleanup(stop)
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("tshark exited before capturing")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("tshark did not start capturing")
	}

	helper := exec.Command(os.Args[0], "-test.run=^TestServeHelper$")
	helper.Env = append(os.Environ(), helperEnv+"="+addr, "SSLKEYLOGFILE="+keys)
	stdin, _ := helper.StdinPipe()
	stdout, _ := helper.StdoutPipe()
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); helper.Wait() })
	var caFile string
	sc := bufio.NewScanner(stdout)
	for caFile == "" && sc.Scan() {
		if m := tryLine.FindStringSubmatch(sc.Text()); m != nil {
			caFile = m[1]
		}
	}
	if caFile == "" {
		t.Fatal("the helper never printed its curl line")
	}
	go io.Copy(io.Discard, stdout)
	curlServe(t, caFile, port)
	stdin.Close()
	helper.Wait()

	read := func(withKeys bool) string {
		args := []string{"-r", pcap, "-d", "tcp.port==" + port + ",tls",
			"-Y", "http2.headers.path", "-T", "fields", "-e", "http2.headers.path"}
		if withKeys {
			args = append(args, "-o", "tls.keylog_file:"+keys)
		}
		out, _ := exec.Command("tshark", args...).Output()
		return strings.TrimSpace(string(out))
	}
	// The capture reaches the file a block at a time (up to a second
	// late); read it until the request is there, then stop.
	deadline := time.Now().Add(10 * time.Second)
	for read(true) != "/" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	stop()
	if got := read(true); got != "/" {
		t.Errorf("decrypted with the key log: got paths %q, want /", got)
	}
	if got := read(false); got != "" {
		t.Errorf("without the key log: got paths %q, want nothing readable", got)
	}
}
