package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/peer"
	"backend-protocols/internal/timeline"
)

func TestScenario(t *testing.T) {
	cfg := config{Rounds: 10, Queue: 16, SndBuf: 32 << 10, Flood: 300}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(res, cfg); err != nil {
		t.Fatal(err)
	}
	// Each client heard its own join and every later one: 3, 2, 1.
	var joins []int
	for _, n := range res.Joins {
		joins = append(joins, n)
	}
	slices.Sort(joins)
	if fmt.Sprint(joins) != "[1 2 3]" {
		t.Errorf("got join notices %v per client, want [1 2 3]", joins)
	}
	if res.Latency.P99 > 500*time.Millisecond {
		t.Errorf("got push latency %s, want p99 well under 500ms", res.Latency)
	}
	// The stalled client was dropped once its queue and socket buffers
	// filled; the readers got everything, without long waits.
	if !res.Dropped || res.DropAt <= cfg.Queue || res.DropAt >= cfg.Flood {
		t.Errorf("got dropped=%v after %d messages, want a drop after more than %d",
			res.Dropped, res.DropAt, cfg.Queue)
	}
	if res.FloodLat.P90 > 100*time.Millisecond {
		t.Errorf("got push latency during the flood %s, want p90 under 100ms", res.FloodLat)
	}
	if fmt.Sprint(res.Clients) != "[3 4 3 2]" {
		t.Errorf("got broadcast list sizes %v, want [3 4 3 2]", res.Clients)
	}
}

// serveForTest runs -serve on a loopback port until the test ends.
func serveForTest(t *testing.T) string {
	t.Helper()
	run, err := demo.Start(context.Background(), "127.0.0.1:0",
		func(ctx context.Context, ln net.Listener) error {
			return serve(ctx, ln, newHub(32, 0, nil))
		})
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

// TestBrowser opens the chat page in headless Chromium with ?test: the
// page joins, says hello, and answers "ping N" with "pong N". A Go client
// sees all of it, which proves the page received a pushed message.
func TestBrowser(t *testing.T) {
	if peer.ChromiumPath() == "" {
		t.Skip("chromium not installed")
	}
	addr := serveForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gc, err := dialChat(ctx, "ws://"+addr+"/ws", 0, true)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.close()
	b, err := peer.OpenBrowser(ctx, "http://"+addr+"/?test")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// The browser's name is its port, which only the server knows: find
	// it in its join notice.
	var tab string
	for tab == "" {
		select {
		case <-gc.signal:
		case <-ctx.Done():
			t.Fatal("the browser never joined")
		}
		for _, r := range gc.messages() {
			if n, ok := strings.CutSuffix(r.Text, " just connected."); ok && n != gc.Name {
				tab = n
			}
		}
	}
	if _, err := gc.waitFor(ctx, tab+" says: hello from the browser"); err != nil {
		t.Fatal(err)
	}
	gc.say("ping 7")
	if _, err := gc.waitFor(ctx, tab+" says: pong 7"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := gc.waitFor(ctx, tab+" left."); err != nil {
		t.Error(err)
	}
}

// TestPythonClient chats with python3-websockets, an independent client.
func TestPythonClient(t *testing.T) {
	py := peer.Python("websockets")
	if py == "" {
		t.Skip("no python3 with the websockets module (Debian: python3-websockets)")
	}
	addr := serveForTest(t)
	script := filepath.Join(t.TempDir(), "chat.py")
	os.WriteFile(script, []byte(`
import asyncio, sys, websockets
async def main(url):
    async with websockets.connect(url) as ws:
        me = "User%d" % ws.local_address[1]
        assert await ws.recv() == me + " just connected."
        await ws.send("hi from python")
        assert await ws.recv() == me + " says: hi from python"
    print("ok")
asyncio.run(main(sys.argv[1]))
`), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, script, "ws://"+addr+"/ws").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("python: %v\n%s", err, out)
	}
}
