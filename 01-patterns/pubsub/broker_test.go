package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"backend-protocols/01-patterns/pubsub/resp"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

// raw sends bytes on a fresh connection and returns everything the broker
// answers until it closes the connection or goes quiet for 200 ms.
func raw(t *testing.T, addr, send string) (string, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, send)
	var out strings.Builder
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.String(), !errors.Is(err, os.ErrDeadlineExceeded)
		}
	}
}

func TestBadInput(t *testing.T) {
	_, addr := startTestBroker(t, "")
	cases := []struct {
		name, send, want string
		closed           bool
	}{
		{"inline ping", "PING\r\n", "+PONG\r\n", false},
		{"inline with quotes", "PING \"a b\"\n", "$3\r\na b\r\n", false},
		{"unknown command", "FLUSHALL\r\n", "-ERR unknown command 'FLUSHALL', with args beginning with: \r\n", false},
		{"wrong arity", "*1\r\n$7\r\nPUBLISH\r\n", "-ERR wrong number of arguments for 'publish' command\r\n", false},
		{"not a bulk in an array", "*1\r\n:1\r\n", "-ERR Protocol error: protocol error: expected '$' in a command, got \":\"\r\n", true},
		{"huge bulk", "*1\r\n$999999999\r\n", "-ERR Protocol error: value exceeds limits: length 999999999 over 524288\r\n", true},
		{"bad length", "*1\r\n$x\r\n", "-ERR Protocol error: protocol error: bad length \"x\"\r\n", true},
		{"unbalanced quotes", "PING \"a\r\n", "-ERR Protocol error: protocol error: unbalanced quotes in request\r\n", true},
		{"quit", "QUIT\r\nPING\r\n", "+OK\r\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, closed := raw(t, addr, c.send)
			if got != c.want || closed != c.closed {
				t.Errorf("got %q (closed %v), want %q (closed %v)", got, closed, c.want, c.closed)
			}
		})
	}
	// The broker still serves everyone after all that.
	if got, _ := raw(t, addr, "PING\r\n"); got != "+PONG\r\n" {
		t.Errorf("after bad input: got %q", got)
	}
}

func TestSubscribedMode(t *testing.T) {
	_, addr := startTestBroker(t, "")
	c, err := resp.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Do("SUBSCRIBE", "a", "b")
	c.Receive() // the second confirmation
	if _, err := c.Do("PUBLISH", "a", "x"); err == nil ||
		!strings.Contains(err.Error(), "only (P|S)SUBSCRIBE") {
		t.Errorf("PUBLISH while subscribed: got %v, want the RESP2 context error", err)
	}
	v, _ := c.Do("PING")
	if v.String() != `["pong" ""]` {
		t.Errorf("PING while subscribed: got %v", v)
	}
	v, _ = c.Do("UNSUBSCRIBE")
	v2, _ := c.Receive()
	if v.Elems[2].Int+v2.Elems[2].Int != 1 { // counts 1 then 0
		t.Errorf("UNSUBSCRIBE: got %v then %v", v, v2)
	}
	v, _ = c.Do("UNSUBSCRIBE")
	if v.String() != `["unsubscribe" (nil) (integer) 0]` {
		t.Errorf("UNSUBSCRIBE with none: got %v", v)
	}
	if v, err := c.Do("PUBLISH", "a", "x"); err != nil || v.Int != 0 {
		t.Errorf("PUBLISH after unsubscribing: got %v, %v", v, err)
	}
}

func TestQueueCompetingConsumers(t *testing.T) {
	_, addr := startTestBroker(t, "")
	ctx := context.Background()
	pub, err := resp.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	const n = 200
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		c, err := resp.Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Go(func() {
			for {
				v, err := c.Do("QGET", "work", "300")
				if err != nil || v.IsNull {
					return
				}
				mu.Lock()
				seen[v.Elems[1].Int]++
				mu.Unlock()
				c.Do("QACK", "work", fmt.Sprint(v.Elems[1].Int))
			}
		})
	}
	for i := range n {
		if _, err := pub.Do("QPUSH", "work", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("got %d distinct jobs delivered, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("job %d delivered %d times, want once", id, k)
		}
	}
	if v, _ := pub.Do("QLEN", "work"); v.String() != "[(integer) 0 (integer) 0]" {
		t.Errorf("QLEN after all acks: got %v", v)
	}
}

func TestQueueRules(t *testing.T) {
	_, addr := startTestBroker(t, "")
	ctx := context.Background()
	a, _ := resp.Dial(ctx, addr)
	defer a.Close()
	b, _ := resp.Dial(ctx, addr)
	defer b.Close()
	if v, err := a.Do("QGET", "q", "20"); err != nil || !v.IsNull {
		t.Errorf("QGET on an empty queue: got %v, %v; want nil after the timeout", v, err)
	}
	a.Do("QPUSH", "q", "one")
	a.Do("QPUSH", "q", "two")
	v, _ := a.Do("QGET", "q", "100")
	id := fmt.Sprint(v.Elems[1].Int)
	if v, _ := b.Do("QACK", "q", id); v.Int != 0 {
		t.Errorf("QACK of another consumer's job: got %v, want 0", v)
	}
	if v, _ := a.Do("QNACK", "q", id); v.Int != 1 {
		t.Errorf("QNACK: got %v, want 1", v)
	}
	// The returned job is first in line again.
	if v, _ := b.Do("QGET", "q", "100"); v.Elems[2].Str != "one" {
		t.Errorf("after QNACK: got %v, want job one first", v)
	}
	for _, bad := range [][]string{{"QGET", "q", "0"}, {"QGET", "q", "x"},
		{"QGET", "q", "9999999"}, {"QACK", "q", "x"}, {"QPUSH", "", "x"}} {
		if _, err := a.Do(bad...); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}

func TestClientsLeaveNothingBehind(t *testing.T) {
	b, addr := startTestBroker(t, "")
	for range 20 {
		c, err := resp.Dial(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Do("SUBSCRIBE", "x")
		c.Close()
	}
	c, _ := resp.Dial(context.Background(), addr)
	c.Do("QGET", "q", "5000") // hang up while blocked
	c.Close()
	left := leak.Gone(5*time.Second, "(*client).readLoop", "(*client).execLoop", "(*client).writeLoop")
	b.mu.RLock()
	subs, clients := len(b.channels), len(b.clients)
	b.mu.RUnlock()
	if len(left) > 0 || subs != 0 || clients != 0 {
		t.Errorf("got %d goroutines, %d channels, %d clients left:\n%s",
			len(left), subs, clients, strings.Join(left, "\n\n"))
	}
}

func TestLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.log")
	w, live, err := openLog(path)
	if err != nil || len(live) != 0 {
		t.Fatalf("new log: %v, %v", live, err)
	}
	w.append(record{op: opPush, id: 1, queue: "q", payload: "a"})
	w.append(record{op: opPush, id: 2, queue: "q", payload: "b"})
	w.append(record{op: opAck, id: 1, queue: "q"})
	w.close()
	// A crash in the middle of the next write leaves a torn record.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(record{op: opPush, id: 3, queue: "q", payload: "c"}.encode()[:9])
	f.Close()
	w, live, err = openLog(path)
	if err != nil || len(live) != 1 || live[0].id != 2 || live[0].payload != "b" {
		t.Fatalf("reopened: got %v, %v; want job 2 alone", live, err)
	}
	w.close()
	// A flipped bit in a complete record is corruption, not a torn tail.
	data, _ := os.ReadFile(path)
	data[len(data)-1] ^= 1
	os.WriteFile(path, data, 0o600)
	if _, _, err := openLog(path); !errors.Is(err, errCorrupt) {
		t.Errorf("corrupt log: got %v, want errCorrupt", err)
	}
}

func FuzzReadLog(f *testing.F) {
	var seed []byte
	seed = append(seed, record{op: opPush, id: 1, queue: "q", payload: "x"}.encode()...)
	seed = append(seed, record{op: opAck, id: 1, queue: "q"}.encode()...)
	f.Add(seed)
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, 'P'})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, good, err := readLog(strings.NewReader(string(b)))
		if good > int64(len(b)) {
			t.Fatalf("good offset %d past %d bytes", good, len(b))
		}
		if err == nil {
			// Every record read re-encodes to the bytes it came from.
			var again []byte
			for _, r := range recs {
				again = append(again, r.encode()...)
			}
			if string(again) != string(b[:good]) {
				t.Fatalf("records %v re-encode differently", recs)
			}
		}
	})
}

// TestRedisCLI drives -serve's broker with the real redis-cli.
func TestRedisCLI(t *testing.T) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli not installed (Debian: redis-tools)")
	}
	_, addr := startTestBroker(t, "")
	host, port, _ := net.SplitHostPort(addr)
	cli := func(args ...string) *exec.Cmd {
		return exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...)
	}
	type sub struct {
		cmd   *exec.Cmd
		lines chan string
	}
	start := func(args ...string) sub {
		cmd := cli(args...)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s := sub{cmd, make(chan string, 100)}
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				s.lines <- sc.Text()
			}
			close(s.lines)
		}()
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return s
	}
	expect := func(s sub, want ...string) {
		t.Helper()
		for _, w := range want {
			select {
			case got := <-s.lines:
				if got != w {
					t.Fatalf("redis-cli printed %q, want %q", got, w)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("redis-cli printed nothing, want %q", w)
			}
		}
	}
	s1 := start("SUBSCRIBE", "news")
	expect(s1, "subscribe", "news", "1")
	s2 := start("PSUBSCRIBE", "n*")
	expect(s2, "psubscribe", "n*", "1")
	out, err := cli("PUBLISH", "news", "hello from redis-cli").Output()
	if err != nil || strings.TrimSpace(string(out)) != "2" {
		t.Fatalf("redis-cli PUBLISH: got %q, %v; want 2 receivers", out, err)
	}
	expect(s1, "message", "news", "hello from redis-cli")
	expect(s2, "pmessage", "n*", "news", "hello from redis-cli")
	if out, _ := cli("PING").Output(); strings.TrimSpace(string(out)) != "PONG" {
		t.Errorf("redis-cli PING: got %q", out)
	}
}

// TestAgainstRealRedis runs the demo's own client, unchanged, against a
// real redis-server: the receiver counts and deliveries are the same.
func TestAgainstRealRedis(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (Debian: redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "127.0.0.1:" + port
	var c *resp.Conn
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err = resp.Dial(context.Background(), addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Close()
	res, err := topics(context.Background(), timeline.Quiet(), addr)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"news:hello": 2, "sport.tennis:6-4": 1, "weather:rain": 0, "news:second": 3}
	for k, w := range want {
		if got := res.Receivers[k]; got != w {
			t.Errorf("redis-server: PUBLISH %s: got %d receivers, want %d", k, got, w)
		}
	}
}
