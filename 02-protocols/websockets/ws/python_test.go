package ws

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/peer"
)

// python returns a python3 with the websockets module, or skips.
func python(t *testing.T) string {
	t.Helper()
	py := peer.Python("websockets")
	if py == "" {
		t.Skip("no python3 with the websockets module (Debian: python3-websockets)")
	}
	return py
}

const pyClient = `
import asyncio, sys, websockets
async def main(url):
    async with websockets.connect(url, max_size=2**20) as ws:
        for m in ["hello", b"\x00\x01\xff", "κόσμε" * 100, b"\xa5" * 65536, ""]:
            await ws.send(m)
            got = await ws.recv()
            if got != m or type(got) != type(m):
                sys.exit("echo mismatch for %r..." % m[:10])
        await ws.send(["frag", "mented ", "text"])
        if await ws.recv() != "fragmented text":
            sys.exit("fragmented message not reassembled")
        await asyncio.wait_for(await ws.ping(b"py"), 5)
        await ws.close(1000, "bye")
    print("ok", ws.close_code, ws.close_reason)
asyncio.run(main(sys.argv[1]))
`

// TestPythonClient runs python3-websockets, an independent client,
// against the engine's server.
func TestPythonClient(t *testing.T) {
	py := python(t)
	url, errs := echoServer(t, nil)
	script := filepath.Join(t.TempDir(), "client.py")
	os.WriteFile(script, []byte(pyClient), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, script, url).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok 1000" {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	if err := <-errs; CloseStatus(err) != CloseNormal {
		t.Errorf("server saw %v, want 1000", err)
	}
}

const pyServer = `
import asyncio, sys, websockets
async def echo(ws):
    async for m in ws:
        if m == "fragment please":
            await ws.send(["one ", "two ", "three"])
        else:
            await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=2**20) as srv:
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
`

// TestPythonServer dials a python3-websockets echo server.
func TestPythonServer(t *testing.T) {
	py := python(t)
	script := filepath.Join(t.TempDir(), "server.py")
	os.WriteFile(script, []byte(pyServer), 0o644)
	cmd := exec.Command(py, script)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the server exits when its stdin closes
		cmd.Wait()
	})
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("python server did not start: %v", err)
	}
	pongs := make(chan string, 1)
	c := dial(t, "ws://127.0.0.1:"+strings.TrimSpace(port)+"/",
		&DialOptions{Options: Options{OnPong: func(p []byte) { pongs <- string(p) }}})
	for _, m := range interopMessages {
		if err := c.WriteMessage(m.typ, m.p); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.ReadMessage()
		if err != nil || typ != m.typ || !bytes.Equal(got, m.p) {
			t.Fatalf("got %v %d bytes %v, want %v %d bytes", typ, len(got), err, m.typ, len(m.p))
		}
	}
	frames := 0
	c.opt.Trace = func(sent bool, h Header, _ []byte) {
		if !sent {
			frames++
		}
	}
	c.WriteMessage(OpText, []byte("fragment please"))
	if _, got, err := c.ReadMessage(); string(got) != "one two three" || err != nil || frames < 3 {
		t.Errorf("got %q in %d frames %v, want one two three in 3 or more", got, frames, err)
	}
	c.opt.Trace = nil
	c.Ping([]byte("go"))
	c.WriteMessage(OpText, []byte("x"))
	c.ReadMessage()
	select {
	case p := <-pongs:
		if p != "go" {
			t.Errorf("got pong %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Error("no pong")
	}
	if err := c.Close(CloseNormal, "done"); err != nil {
		t.Error(err)
	}
}
