package ws

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echoServer serves an echo at /echo with net/http and Accept. Each
// connection's final error is sent on the returned channel.
func echoServer(t *testing.T, opts *AcceptOptions) (string, chan error) {
	t.Helper()
	errs := make(chan error, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts)
		if err != nil {
			return
		}
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				errs <- err
				return
			}
			if err := c.WriteMessage(typ, msg); err != nil {
				errs <- err
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/echo", errs
}

func dial(t *testing.T, url string, opts *DialOptions) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.NetConn().Close() })
	return c
}

func TestEcho(t *testing.T) {
	url, errs := echoServer(t, nil)
	c := dial(t, url, nil)
	for _, m := range []struct {
		typ Opcode
		p   []byte
	}{
		{OpText, []byte("hello")},
		{OpText, []byte("")},
		{OpBinary, []byte{0, 1, 2, 255}},
		{OpText, []byte(strings.Repeat("κόσμε", 30))}, // 16-bit length
		{OpBinary, bytes.Repeat([]byte{7}, 200000)},   // 64-bit length
	} {
		if err := c.WriteMessage(m.typ, m.p); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.ReadMessage()
		if err != nil || typ != m.typ || !bytes.Equal(got, m.p) {
			t.Fatalf("got %v %d bytes %v, want %v %d bytes", typ, len(got), err,
				m.typ, len(m.p))
		}
	}
	if err := c.Close(CloseNormal, "bye"); err != nil {
		t.Fatal(err)
	}
	var ce *CloseError
	if err := <-errs; !errors.As(err, &ce) || ce.Code != CloseNormal || ce.Reason != "bye" || !ce.Remote {
		t.Errorf("server saw %v, want the client's close 1000 bye", err)
	}
}

// TestFragmentsWithPingBetween sends a message in three frames with a
// ping in the middle: the server reassembles it and answers the ping.
func TestFragmentsWithPingBetween(t *testing.T) {
	url, _ := echoServer(t, nil)
	pongs := make(chan string, 1)
	var frames []string
	c := dial(t, url, &DialOptions{Options: Options{
		OnPong: func(p []byte) { pongs <- string(p) },
		Trace: func(sent bool, h Header, p []byte) {
			if sent {
				frames = append(frames, fmt.Sprintf("%v fin=%v %q", h.Op, h.Fin, p))
			}
		}}})
	w, err := c.NextWriter(OpText)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Hel")
	w.Flush()
	c.Ping([]byte("are you there"))
	io.WriteString(w, "lo, wor")
	w.Flush()
	io.WriteString(w, "ld")
	w.Close()
	typ, msg, err := c.ReadMessage()
	if err != nil || typ != OpText || string(msg) != "Hello, world" {
		t.Fatalf("got %v %q %v", typ, msg, err)
	}
	if p := <-pongs; p != "are you there" {
		t.Errorf("got pong %q", p)
	}
	want := []string{`TEXT fin=false "Hel"`, `PING fin=true "are you there"`,
		`CONT fin=false "lo, wor"`, `CONT fin=true "ld"`}
	if got := strings.Join(frames, "|"); got != strings.Join(want, "|") {
		t.Errorf("frames sent:\n got %s\nwant %s", got, strings.Join(want, "|"))
	}
}

func TestFragmentSizeSplits(t *testing.T) {
	url, _ := echoServer(t, nil)
	var sent []int64
	c := dial(t, url, &DialOptions{Options: Options{FragmentSize: 1000,
		Trace: func(s bool, h Header, _ []byte) {
			if s {
				sent = append(sent, h.Length)
			}
		}}})
	w, _ := c.NextWriter(OpBinary)
	w.Write(make([]byte, 2500))
	w.Close()
	_, msg, err := c.ReadMessage()
	if err != nil || len(msg) != 2500 {
		t.Fatalf("got %d bytes %v", len(msg), err)
	}
	if fmt.Sprint(sent) != "[1000 1000 500]" {
		t.Errorf("got frames %v, want [1000 1000 500]", sent)
	}
}

// rawClient is a client that sends whatever bytes a test wants after a
// proper handshake, to break the rules on purpose.
type rawClient struct {
	nc net.Conn
	br *bufio.Reader
}

func rawDial(t *testing.T, url string) *rawClient {
	t.Helper()
	addr := strings.TrimPrefix(strings.TrimSuffix(url, "/echo"), "ws://")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	fmt.Fprintf(nc, "GET /echo HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"Sec-WebSocket-Version: 13\r\n\r\n", addr)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 ||
		resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return &rawClient{nc, br}
}

// frame builds a frame; masked frames use a fixed key.
func frame(b0 byte, masked bool, p []byte) []byte {
	h := Header{Fin: b0&0x80 != 0, RSV: b0 >> 4 & 7, Op: Opcode(b0 & 0xf),
		Masked: masked, Mask: [4]byte{1, 2, 3, 4}, Length: int64(len(p))}
	out := AppendHeader(nil, h)
	q := append([]byte(nil), p...)
	if masked {
		maskBytes(h.Mask, 0, q)
	}
	return append(out, q...)
}

// closeCode reads frames until the server's close and then EOF; it
// returns the close code and whether TCP was closed after it.
func (rc *rawClient) closeCode(t *testing.T) (CloseCode, bool) {
	t.Helper()
	rc.nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		b, err := rc.br.Peek(2)
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		b, _ = rc.br.Peek(headerLen(b[0], b[1]))
		h, n, err := ParseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		rc.br.Discard(n)
		p := make([]byte, h.Length)
		io.ReadFull(rc.br, p)
		if h.Op != OpClose {
			continue
		}
		code := CloseNoStatus
		if len(p) >= 2 {
			code = CloseCode(p[0])<<8 | CloseCode(p[1])
		}
		_, err = rc.br.ReadByte()
		return code, errors.Is(err, io.EOF)
	}
}

// TestProtocolViolations breaks each framing rule and expects the server
// to fail the connection with the right code and close TCP.
func TestProtocolViolations(t *testing.T) {
	big := bytes.Repeat([]byte("a"), 300)
	cases := []struct {
		name string
		wire []byte
		code CloseCode
	}{
		{"unmasked client frame", frame(0x81, false, []byte("hi")), CloseProtocolError},
		{"RSV1 set", frame(0xc1, true, []byte("hi")), CloseProtocolError},
		{"RSV3 set", frame(0x91, true, []byte("hi")), CloseProtocolError},
		{"reserved data opcode 3", frame(0x83, true, nil), CloseProtocolError},
		{"reserved control opcode B", frame(0x8b, true, nil), CloseProtocolError},
		{"fragmented ping", frame(0x09, true, []byte("p")), CloseProtocolError},
		{"ping over 125 bytes", frame(0x89, true, big[:126]), CloseProtocolError},
		{"continuation first", frame(0x80, true, []byte("x")), CloseProtocolError},
		{"text inside fragmented message", append(frame(0x01, true, []byte("a")),
			frame(0x81, true, []byte("b"))...), CloseProtocolError},
		{"64-bit length top bit", append([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1}, 1, 2, 3, 4), CloseProtocolError},
		{"close with one byte", frame(0x88, true, []byte{3}), CloseProtocolError},
		{"close code 1005", frame(0x88, true, []byte{0x03, 0xed}), CloseProtocolError},
		{"close code 999", frame(0x88, true, []byte{0x03, 0xe7}), CloseProtocolError},
		{"close code 2000", frame(0x88, true, []byte{0x07, 0xd0}), CloseProtocolError},
		{"close reason not UTF-8", frame(0x88, true, []byte{0x03, 0xe8, 0xff}), CloseInvalidData},
		{"text not UTF-8", frame(0x81, true, []byte("caf\xe9")), CloseInvalidData},
		{"text ends mid-character", frame(0x81, true, []byte("\xce")), CloseInvalidData},
		{"fragments split a surrogate", append(frame(0x01, true, []byte("\xed")),
			frame(0x80, true, []byte("\xa0\x80"))...), CloseInvalidData},
		{"message too big", frame(0x82, true, big), CloseTooBig},
		{"fragments too big", append(frame(0x02, true, big[:200]),
			frame(0x80, true, big[:200])...), CloseTooBig},
		{"huge frame announced", []byte{0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}, CloseTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, errs := echoServer(t, &AcceptOptions{Options: Options{MaxMessageSize: 256}})
			rc := rawDial(t, url)
			rc.nc.Write(tc.wire)
			code, eof := rc.closeCode(t)
			if code != tc.code || !eof {
				t.Errorf("got close %d (TCP closed %v), want %d and a close", code, eof, tc.code)
			}
			var ce *CloseError
			if err := <-errs; !errors.As(err, &ce) || ce.Code != tc.code || ce.Remote {
				t.Errorf("server returned %v, want its own close %d", err, tc.code)
			}
		})
	}
}

// TestInvalidUTF8FailsFast sends an invalid first fragment and never the
// rest: the server must fail at once, not wait for the message's end.
func TestInvalidUTF8FailsFast(t *testing.T) {
	url, _ := echoServer(t, nil)
	rc := rawDial(t, url)
	rc.nc.Write(frame(0x01, true, []byte("ok so far \xc0\xaf")))
	if code, _ := rc.closeCode(t); code != CloseInvalidData {
		t.Errorf("got %d, want 1007 before the message ends", code)
	}
}

// TestCloseHandshake checks both directions: a server close is echoed by
// the client, a close without a code is reported as 1005 and answered
// with 1000, and the server closes TCP first.
func TestCloseHandshake(t *testing.T) {
	url, errs := echoServer(t, nil)
	rc := rawDial(t, url)
	rc.nc.Write(frame(0x88, true, nil))
	code, eof := rc.closeCode(t)
	if code != CloseNormal || !eof {
		t.Errorf("got %d eof=%v, want 1000 for a close without a code, and TCP closed", code, eof)
	}
	if err := <-errs; CloseStatus(err) != CloseNoStatus {
		t.Errorf("server saw %v, want 1005", err)
	}
	// Server-initiated close, seen by a client that is reading.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil)
		if err != nil {
			return
		}
		c.WriteMessage(OpText, []byte("last words"))
		c.Close(CloseGoingAway, "shutting down")
	}))
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if _, msg, err := c.ReadMessage(); string(msg) != "last words" || err != nil {
		t.Fatalf("got %q %v", msg, err)
	}
	_, _, err := c.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != CloseGoingAway || ce.Reason != "shutting down" {
		t.Errorf("got %v, want 1001 shutting down", err)
	}
	if _, err := c.NetConn().Read(make([]byte, 1)); err == nil {
		t.Errorf("client connection still open after the handshake")
	}
	if err := c.WriteMessage(OpText, []byte("x")); !errors.Is(err, ErrCloseSent) {
		t.Errorf("write after close: got %v, want ErrCloseSent", err)
	}
}

// TestMaskedFrameFromServer: the client fails the connection with 1002.
func TestMaskedFrameFromServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, _ := http.NewResponseController(w).Hijack()
		defer nc.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
			"Connection: Upgrade\r\nSec-WebSocket-Accept: " +
			AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n")
		brw.Write(frame(0x81, true, []byte("masked")))
		brw.Flush()
		io.Copy(io.Discard, nc)
	}))
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if _, _, err := c.ReadMessage(); CloseStatus(err) != CloseProtocolError {
		t.Errorf("got %v, want 1002", err)
	}
}

func TestHandshakeRefusals(t *testing.T) {
	url, _ := echoServer(t, &AcceptOptions{Subprotocols: []string{"chat.v2", "chat.v1"}})
	httpURL := "http" + strings.TrimPrefix(url, "ws")
	base := func() http.Header {
		return http.Header{"Upgrade": {"websocket"}, "Connection": {"keep-alive, Upgrade"},
			"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "Sec-Websocket-Version": {"13"}}
	}
	cases := []struct {
		name   string
		method string
		edit   func(http.Header)
		status int
	}{
		{"plain GET", "GET", func(h http.Header) { h.Del("Upgrade"); h.Del("Connection") }, 400},
		{"POST", "POST", func(http.Header) {}, 405},
		{"version 8", "GET", func(h http.Header) { h.Set("Sec-Websocket-Version", "8") }, 426},
		{"short key", "GET", func(h http.Header) { h.Set("Sec-Websocket-Key", "c2hvcnQ=") }, 400},
		{"no key", "GET", func(h http.Header) { h.Del("Sec-Websocket-Key") }, 400},
		{"other origin", "GET", func(h http.Header) { h.Set("Origin", "http://evil.example") }, 403},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, httpURL, nil)
		req.Header = base()
		tc.edit(req.Header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: got %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if tc.status == 426 && resp.Header.Get("Sec-WebSocket-Version") != "13" {
			t.Errorf("426 without Sec-WebSocket-Version: 13")
		}
	}
	// Subprotocols: the server's preference among what was offered.
	c := dial(t, url, &DialOptions{Subprotocols: []string{"chat.v1", "chat.v2"}})
	if c.Subprotocol() != "chat.v2" {
		t.Errorf("got subprotocol %q, want chat.v2", c.Subprotocol())
	}
	c = dial(t, url, &DialOptions{Subprotocols: []string{"other"},
		Header: http.Header{"Origin": {"http://" + strings.TrimPrefix(httpURL[:strings.LastIndex(httpURL, "/")], "http://")}}})
	if c.Subprotocol() != "" {
		t.Errorf("got subprotocol %q, want none", c.Subprotocol())
	}
	// A server that is not a WebSocket server.
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	_, resp, err := Dial(t.Context(), "ws"+strings.TrimPrefix(plain.URL, "http"), nil)
	if err == nil || resp == nil || resp.StatusCode != 404 {
		t.Errorf("got %v %v, want a refusal with the 404", resp, err)
	}
}

// TestSlowReaderWriteTimeout: a peer that stops reading cannot block the
// writer past WriteTimeout.
func TestSlowReaderWriteTimeout(t *testing.T) {
	done := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, &AcceptOptions{Options: Options{WriteTimeout: 200 * time.Millisecond}})
		if err != nil {
			return
		}
		msg := make([]byte, 64<<10)
		for {
			if err := c.WriteMessage(OpBinary, msg); err != nil {
				done <- err
				return
			}
		}
	}))
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	_ = c // never reads
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("got %v, want a write timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("writer still blocked after 10s")
	}
}
