package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"backend-protocols/02-protocols/websockets/ws"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/peer"
	"backend-protocols/internal/timeline"
)

func TestScenario(t *testing.T) {
	res, err := scenario(context.Background(), timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if err := check(res); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Fragments, "|"); got != "Hel|lo, wor|ld" {
		t.Errorf("got fragments %q", got)
	}
	if res.PingRTT.Max > time.Second {
		t.Errorf("got ping round trips %s, want well under a second", res.PingRTT)
	}
}

// serveForTest runs the -serve server on a loopback port until the test
// ends and returns its address.
func serveForTest(t *testing.T, s *server) string {
	t.Helper()
	run, err := demo.Start(context.Background(), "127.0.0.1:0", s.serve)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := run.Close(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return run.Addr
}

// TestBrowser opens the echo page in headless Chromium with ?selftest:
// the page sends text, binary and a 70 000-byte message through the h1
// and ws engines, checks every echo, and reports back over the socket.
func TestBrowser(t *testing.T) {
	if peer.ChromiumPath() == "" {
		t.Skip("chromium not installed")
	}
	s := newServer(timeline.Quiet())
	report := make(chan string, 1)
	s.onMessage = func(_ string, typ ws.Opcode, msg []byte) {
		if typ == ws.OpText && strings.HasPrefix(string(msg), "selftest:") {
			report <- string(msg)
		}
	}
	addr := serveForTest(t, s)
	b, err := peer.OpenBrowser(context.Background(), "http://"+addr+"/?selftest")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	select {
	case got := <-report:
		if got != "selftest: ok 3" {
			t.Errorf("browser reported %q, want selftest: ok 3", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no report from the browser page")
	}
}

// TestPythonClient drives the -serve server (h1 carrying ws) with
// python3-websockets, an independent client.
func TestPythonClient(t *testing.T) {
	py := peer.Python("websockets")
	if py == "" {
		t.Skip("no python3 with the websockets module (Debian: python3-websockets)")
	}
	addr := serveForTest(t, newServer(timeline.Quiet()))
	script := filepath.Join(t.TempDir(), "client.py")
	os.WriteFile(script, []byte(`
import asyncio, sys, websockets
async def main(url):
    async with websockets.connect(url) as ws:
        for m in ["text", b"\x00\xff", ["frag", "ments"], "x" * 70000]:
            await ws.send(m)
            want = "fragments" if isinstance(m, list) else m
            if await ws.recv() != want:
                sys.exit("bad echo")
        await asyncio.wait_for(await ws.ping(), 5)
    print("ok", ws.close_code)
asyncio.run(main(sys.argv[1]))
`), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, script, "ws://"+addr+"/echo").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok 1000" {
		t.Errorf("python: %v\n%s", err, out)
	}
}
