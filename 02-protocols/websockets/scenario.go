package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/02-protocols/websockets/ws"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

// result is what the scenario measured.
type result struct {
	Status        int  // of the upgrade: 101
	AcceptMatched bool // Sec-WebSocket-Accept was the hash of our key
	Echoed        int  // messages that came back unchanged
	// The fragmented message: the frames sent for it and what came back.
	Fragments   []string
	Reassembled string
	PingRTT     timing.Summary
	// The close handshake: what the client got back, what the server saw.
	CloseCode       ws.CloseCode
	ServerSawClose  ws.CloseCode
	ServerSawReason string
	// Violations maps each broken rule to the code the server closed with.
	Violations map[string]ws.CloseCode
}

// tap records what a connection writes and reads.
type tap struct {
	net.Conn
	mu      sync.Mutex
	out, in bytes.Buffer
	off     bool
}

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.mu.Lock()
	if !t.off {
		t.in.Write(p[:n])
	}
	t.mu.Unlock()
	return n, err
}

func (t *tap) Write(p []byte) (int, error) {
	t.mu.Lock()
	if !t.off {
		t.out.Write(p)
	}
	t.mu.Unlock()
	return t.Conn.Write(p)
}

func scenario(ctx context.Context, tl *timeline.Timeline) (result, error) {
	srv := newServer(timeline.Quiet())
	ends := make(chan error, 16)
	srv.onEnd = func(_ string, err error) { ends <- err }
	srv.opts.MaxMessageSize = 64 << 10
	run, err := demo.Start(ctx, "127.0.0.1:0", srv.serve)
	if err != nil {
		return result{}, err
	}
	defer run.Close()
	url := "ws://" + run.Addr + "/echo"
	tl.Note("server", "h1 + ws echo at %s (MaxMessageSize 64 KiB)", url)
	res, err := client(ctx, tl, url)
	if err != nil {
		return res, err
	}
	select {
	case err := <-ends:
		var ce *ws.CloseError
		if errors.As(err, &ce) {
			res.ServerSawClose, res.ServerSawReason = ce.Code, ce.Reason
		}
	case <-time.After(5 * time.Second):
		return res, errors.New("the server never saw the close")
	}
	tl.Note("server", "saw close %d %q", res.ServerSawClose, res.ServerSawReason)
	tl.Printf("")
	res.Violations, err = violations(ctx, tl, url)
	return res, err
}

// client runs the well-behaved client: handshake, messages, fragments,
// pings and a clean close, printing every frame.
func client(ctx context.Context, tl *timeline.Timeline, url string) (result, error) {
	var res result
	tl.Printf("== the opening handshake: an HTTP/1.1 upgrade")
	var t *tap
	var mute atomic.Bool
	pongs := make(chan time.Time, 1)
	opts := &ws.DialOptions{
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, network, addr)
			t = &tap{Conn: nc}
			return t, err
		},
		Options: ws.Options{
			OnPong: func([]byte) { pongs <- time.Now() },
			Trace: func(sent bool, h ws.Header, p []byte) {
				if mute.Load() {
					return
				}
				if sent {
					tl.Send("client", "server", "%s", describe(h, p))
				} else {
					tl.Send("server", "client", "%s", describe(h, p))
				}
			}},
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, resp, err := ws.Dial(dctx, url, opts)
	if err != nil {
		return res, err
	}
	defer c.NetConn().Close()
	t.mu.Lock()
	req, head := t.out.Bytes(), t.in.Bytes()
	tl.Dump("client -> server", req)
	tl.Dump("server -> client", head)
	t.off = true
	t.mu.Unlock()
	key := strings.TrimSpace(strings.SplitN(strings.SplitN(string(req),
		"Sec-WebSocket-Key: ", 2)[1], "\r\n", 2)[0])
	res.Status = resp.StatusCode
	res.AcceptMatched = resp.Header.Get("Sec-WebSocket-Accept") == ws.AcceptKey(key)
	tl.Note("client", "base64(SHA-1(%q + GUID)) = %s: matches", key, ws.AcceptKey(key))
	tl.Printf("")

	tl.Printf("== messages: text, binary, and a 300-byte text (16-bit length)")
	for _, m := range []struct {
		typ ws.Opcode
		p   []byte
	}{
		{ws.OpText, []byte("hello")},
		{ws.OpBinary, []byte{0xde, 0xad, 0xbe, 0xef}},
		{ws.OpText, bytes.Repeat([]byte("ab"), 150)},
	} {
		if err := c.WriteMessage(m.typ, m.p); err != nil {
			return res, err
		}
		typ, got, err := c.ReadMessage()
		if err != nil {
			return res, err
		}
		if typ == m.typ && bytes.Equal(got, m.p) {
			res.Echoed++
		}
	}
	tl.Note("client", "%d of 3 echoes came back unchanged; only client frames are masked", res.Echoed)
	tl.Printf("")

	tl.Printf("== a fragmented message, with a ping between its fragments")
	w, err := c.NextWriter(ws.OpText)
	if err != nil {
		return res, err
	}
	for i, part := range []string{"Hel", "lo, wor", "ld"} {
		w.Write([]byte(part))
		if i == 1 {
			c.Ping([]byte("mid-message"))
		}
		if i < 2 {
			w.Flush()
		}
		res.Fragments = append(res.Fragments, part)
	}
	if err := w.Close(); err != nil {
		return res, err
	}
	_, got, err := c.ReadMessage()
	if err != nil {
		return res, err
	}
	<-pongs
	res.Reassembled = string(got)
	tl.Note("client", "the server reassembled %d fragments into %q and echoed it whole",
		len(res.Fragments), got)
	tl.Printf("")

	tl.Printf("== ping and pong, timed")
	mute.Store(true)
	var rtts []time.Duration
	// A reader must run for pongs to be seen: read in the background.
	readDone := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		readDone <- err
	}()
	for i := range 5 {
		t0 := time.Now()
		if err := c.Ping(fmt.Appendf(nil, "ping %d", i)); err != nil {
			return res, err
		}
		select {
		case at := <-pongs:
			rtts = append(rtts, at.Sub(t0))
		case <-time.After(2 * time.Second):
			return res, errors.New("no pong")
		}
	}
	res.PingRTT = timing.Summarize(rtts)
	tl.Note("client", "5 pings answered, round trip median %s, max %s",
		us(res.PingRTT.P50), us(res.PingRTT.Max))
	tl.Printf("")

	tl.Printf("== the close handshake")
	mute.Store(false)
	start := time.Now()
	if err := c.Close(ws.CloseNormal, "bye"); err != nil {
		return res, err
	}
	res.CloseCode = ws.CloseStatus(<-readDone)
	tl.Note("client", "got close %d back; handshake took %s; TCP closed by the server first",
		res.CloseCode, timeline.Ms(time.Since(start)))
	return res, nil
}

// violations breaks one rule per connection, writing raw bytes past the
// engine's framing, and reads the close code the server answers with.
func violations(ctx context.Context, tl *timeline.Timeline, url string) (map[string]ws.CloseCode, error) {
	tl.Printf("== a client that breaks the rules gets a close code, then a closed socket")
	masked := func(op ws.Opcode, fin bool, p []byte) []byte {
		h := ws.Header{Fin: fin, Op: op, Masked: true, Mask: [4]byte{9, 8, 7, 6},
			Length: int64(len(p))}
		out := ws.AppendHeader(nil, h)
		for i, b := range p {
			out = append(out, b^h.Mask[i%4])
		}
		return out
	}
	cases := []struct {
		name string
		wire []byte
	}{
		{"an unmasked frame", ws.AppendHeader(nil, ws.Header{Fin: true, Op: ws.OpText, Length: 2})},
		{"a reserved opcode 0x3", masked(3, true, nil)},
		{"text that is not UTF-8", masked(ws.OpText, true, []byte("caf\xe9"))},
		{"a 100 KiB message (limit 64 KiB)", masked(ws.OpBinary, true, make([]byte, 100<<10))},
		{"a fragmented ping", masked(ws.OpPing, false, []byte("p"))},
	}
	got := map[string]ws.CloseCode{}
	for _, tc := range cases {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, _, err := ws.Dial(dctx, url, nil)
		cancel()
		if err != nil {
			return got, err
		}
		if tc.name == "an unmasked frame" {
			tc.wire = append(tc.wire, "hi"...)
		}
		c.NetConn().Write(tc.wire)
		_, _, err = c.ReadMessage()
		var ce *ws.CloseError
		if !errors.As(err, &ce) {
			c.NetConn().Close()
			return got, fmt.Errorf("%s: got %v, want a close frame", tc.name, err)
		}
		got[tc.name] = ce.Code
		tl.Send("server", "client", "after %s: CLOSE %d %q", tc.name, ce.Code, ce.Reason)
		c.NetConn().Close()
	}
	return got, nil
}

func us(d time.Duration) string {
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}
