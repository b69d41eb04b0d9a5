package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"backend-protocols/02-protocols/websockets/ws"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

// startSignal serves a signaler on loopback for the test's length.
func startSignal(t *testing.T, configure func(*signaler)) (*signaler, string) {
	t.Helper()
	sig := newSignaler(timeline.Quiet())
	if configure != nil {
		configure(sig)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rooms", sig.handleRooms)
	mux.HandleFunc("GET /signal", sig.handleSignal)
	run, err := demo.StartHTTP(context.Background(), &http.Server{Handler: mux}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		run.Close()
		sig.closeAll()
		if left := leak.Gone(2*time.Second, "(*signaler).serve"); len(left) > 0 {
			t.Errorf("signaling goroutines left: %v", left)
		}
	})
	return sig, run.Addr
}

func newRoom(t *testing.T, addr string) string {
	t.Helper()
	room, err := createRoom(context.Background(), "http://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	return room
}

// client is a test peer on the signaling server.
type client struct {
	t    *testing.T
	conn *ws.Conn
	id   string
}

func joinRoom(t *testing.T, addr, room string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := ws.Dial(ctx, "ws://"+addr+"/signal?room="+room, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.NetConn().Close() })
	cl := &client{t: t, conn: c}
	if w := cl.next(); w.Type != "welcome" {
		t.Fatalf("got %+v, want welcome", w)
	} else {
		cl.id = w.ID
	}
	return cl
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(ws.OpText, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// next reads one message, failing the test after 5 s.
func (c *client) next() signal {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var sg signal
	if err := json.Unmarshal(b, &sg); err != nil {
		c.t.Fatal(err)
	}
	return sg
}

// closed reads until the connection ends and returns its close code.
func (c *client) closed() ws.CloseCode {
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			return ws.CloseStatus(err)
		}
	}
}

func TestRelay(t *testing.T) {
	sig, addr := startSignal(t, nil)
	room := newRoom(t, addr)
	a := joinRoom(t, addr, room)
	b := joinRoom(t, addr, room)
	if j := a.next(); j.Type != "join" || j.From != b.id {
		t.Fatalf("A got %+v, want B's join", j)
	}
	a.send(`{"type":"offer","to":"` + b.id + `","data":{"type":"offer","sdp":"v=0"}}`)
	got := b.next()
	if got.Type != "offer" || got.From != a.id || string(got.Data) != `{"type":"offer","sdp":"v=0"}` {
		t.Errorf("B got %+v, want A's offer with from=%s", got, a.id)
	}
	// Without to, a message goes to everyone else in the room.
	b.send(`{"type":"candidate","data":{"candidate":"candidate:1 1 UDP 1 10.0.0.1 9 typ host"}}`)
	if got := a.next(); got.Type != "candidate" || got.From != b.id {
		t.Errorf("A got %+v, want B's candidate", got)
	}
	// A leaves: B is told, and the room forgets A.
	a.conn.Close(ws.CloseNormal, "bye")
	if got := b.next(); got.Type != "leave" || got.From != a.id {
		t.Errorf("B got %+v, want A's leave", got)
	}
	if n, _ := sig.peers(room); n != 1 {
		t.Errorf("room holds %d peers after one left, want 1", n)
	}
	// The freed place can be taken again.
	c := joinRoom(t, addr, room)
	if got := b.next(); got.Type != "join" || got.From != c.id || c.id == a.id {
		t.Errorf("B got %+v, want the join of a new peer (not %s)", got, a.id)
	}
}

func TestRefusals(t *testing.T) {
	_, addr := startSignal(t, func(s *signaler) { s.MaxRooms = 2; s.MaxErrors = 4 })
	room := newRoom(t, addr)
	ctx := context.Background()
	// Unknown room: 404 before the upgrade.
	_, resp, err := ws.Dial(ctx, "ws://"+addr+"/signal?room=nope", nil)
	if err == nil || resp == nil || resp.StatusCode != 404 {
		t.Errorf("unknown room: got %v, %v; want 404", resp, err)
	}
	// A full room (two peers): 409.
	a := joinRoom(t, addr, room)
	b := joinRoom(t, addr, room)
	a.next() // b's join
	_, resp, err = ws.Dial(ctx, "ws://"+addr+"/signal?room="+room, nil)
	if err == nil || resp == nil || resp.StatusCode != 409 {
		t.Errorf("third peer: got %v, %v; want 409", resp, err)
	}
	// Too many rooms: 503.
	newRoom(t, addr)
	if _, err := createRoom(ctx, "http://"+addr, nil); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("third room: got %v, want 503", err)
	}
	// Bad messages are answered with an error, and the peer stays...
	for _, bad := range []string{`not json`, `{"type":"hello","data":1}`,
		`{"type":"offer"}`} {
		a.send(bad)
		if got := a.next(); got.Type != "error" {
			t.Errorf("%s: got %+v, want an error", bad, got)
		}
	}
	// ...until MaxErrors: 1008.
	a.send(`{}`)
	if code := a.closed(); code != ws.ClosePolicyViolation {
		t.Errorf("after 4 bad messages: got close %d, want 1008", code)
	}
	// A binary message: 1003. An oversized one: 1009.
	b.next() // a's leave
	b.conn.WriteMessage(ws.OpBinary, []byte{1, 2, 3})
	if code := b.closed(); code != ws.CloseUnsupportedData {
		t.Errorf("binary: got close %d, want 1003", code)
	}
	c := joinRoom(t, addr, room)
	c.send(`{"type":"offer","data":"` + strings.Repeat("x", 17<<10) + `"}`)
	if code := c.closed(); code != ws.CloseTooBig {
		t.Errorf("17 KiB message: got close %d, want 1009", code)
	}
	// A message to nobody in the room is an error too.
	d := joinRoom(t, addr, room)
	d.send(`{"type":"offer","to":"p99","data":{}}`)
	if got := d.next(); got.Type != "error" || !strings.Contains(got.Error, "p99") {
		t.Errorf("to a stranger: got %+v", got)
	}
}

// TestIdleAndShutdown: a silent peer is closed with 1001 after Idle,
// and so is every peer when the server shuts down.
func TestIdleAndShutdown(t *testing.T) {
	sig, addr := startSignal(t, func(s *signaler) { s.Idle = 200 * time.Millisecond })
	room := newRoom(t, addr)
	a := joinRoom(t, addr, room)
	start := time.Now()
	if code := a.closed(); code != ws.CloseGoingAway {
		t.Errorf("idle: got close %d, want 1001", code)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("closed after %v, before the 200 ms idle limit", d)
	}
	sig.Idle = time.Minute
	b := joinRoom(t, addr, room)
	go sig.closeAll()
	if code := b.closed(); code != ws.CloseGoingAway {
		t.Errorf("shutdown: got close %d, want 1001", code)
	}
}

// TestSlowPeer: a peer that stops reading is dropped with 1008 once
// its queue is full (after the kernel's socket buffers), and the sender
// is not held up.
func TestSlowPeer(t *testing.T) {
	sig, addr := startSignal(t, func(s *signaler) { s.MaxQueue = 4 })
	room := newRoom(t, addr)
	a := joinRoom(t, addr, room)
	b := joinRoom(t, addr, room) // reads nothing until the end
	a.next()
	msg := `{"type":"candidate","data":"` + strings.Repeat("x", 15<<10) + `"}`
	deadline := time.Now().Add(10 * time.Second)
	sent := 0
	for n, _ := sig.peers(room); n == 2; n, _ = sig.peers(room) {
		if sent == 4000 || time.Now().After(deadline) {
			t.Fatalf("B still in the room after %d messages of 15 KiB", sent)
		}
		a.send(msg)
		sent++
	}
	t.Logf("B dropped after %d messages (%d KiB)", sent, sent*15)
	if got := a.next(); got.Type != "leave" || got.From != b.id {
		t.Errorf("A got %+v, want B's leave", got)
	}
	if code := b.closed(); code != ws.ClosePolicyViolation {
		t.Errorf("slow peer: got close %d, want 1008", code)
	}
}
