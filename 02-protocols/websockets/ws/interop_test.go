package ws

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// interopMessages cover the three length encodings and both types.
var interopMessages = []struct {
	typ Opcode
	p   []byte
}{
	{OpText, []byte("hello from the other side")},
	{OpBinary, []byte{0, 1, 2, 0xff}},
	{OpText, []byte(strings.Repeat("κόσμε ", 100))},
	{OpBinary, bytes.Repeat([]byte{0xa5}, 64<<10)},
	{OpText, []byte{}},
}

// TestClientToXNetServer dials an x/net/websocket echo server.
func TestClientToXNetServer(t *testing.T) {
	srv := httptest.NewServer(websocket.Server{Handler: func(c *websocket.Conn) {
		c.MaxPayloadBytes = 1 << 20
		for {
			var m typed
			if err := typedCodec.Receive(c, &m); err != nil {
				return
			}
			if err := typedCodec.Send(c, m); err != nil {
				return
			}
		}
	}})
	defer srv.Close()
	pongs := make(chan struct{}, 1)
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"),
		&DialOptions{Options: Options{OnPong: func([]byte) { pongs <- struct{}{} }}})
	for _, m := range interopMessages {
		if err := c.WriteMessage(m.typ, m.p); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.ReadMessage()
		if err != nil || typ != m.typ || !bytes.Equal(got, m.p) {
			t.Fatalf("got %v %d bytes %v, want %v %d bytes", typ, len(got), err, m.typ, len(m.p))
		}
	}
	// x/net answers a ping while its handler reads.
	c.Ping([]byte("ping"))
	c.WriteMessage(OpText, []byte("after ping"))
	if _, got, err := c.ReadMessage(); err != nil || string(got) != "after ping" {
		t.Fatalf("got %q %v", got, err)
	}
	select {
	case <-pongs:
	case <-time.After(5 * time.Second):
		t.Error("no pong from x/net")
	}
	if err := c.Close(CloseNormal, ""); err != nil {
		t.Error(err)
	}
}

// typed is a message with its frame type, for x/net's Codec.
type typed struct {
	typ  byte
	data []byte
}

// typedCodec keeps x/net's frame type with the payload, so an echo can
// answer text with text and binary with binary.
var typedCodec = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) {
		m := v.(typed)
		return m.data, m.typ, nil
	},
	Unmarshal: func(data []byte, typ byte, v any) error {
		*v.(*typed) = typed{typ, append([]byte(nil), data...)}
		return nil
	},
}

// TestXNetClientToServer dials the engine's server with x/net's client.
func TestXNetClientToServer(t *testing.T) {
	url, errs := echoServer(t, nil)
	origin := "http://" + strings.TrimPrefix(strings.TrimSuffix(url, "/echo"), "ws://")
	c, err := websocket.Dial(url, "", origin)
	if err != nil {
		t.Fatal(err)
	}
	c.MaxPayloadBytes = 1 << 20
	for _, m := range interopMessages {
		var err error
		if m.typ == OpText {
			err = websocket.Message.Send(c, string(m.p))
		} else {
			err = websocket.Message.Send(c, m.p)
		}
		if err != nil {
			t.Fatal(err)
		}
		var got typed
		if err := typedCodec.Receive(c, &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.data, m.p) || got.typ != byte(m.typ) {
			t.Fatalf("got type %d %d bytes, want type %d %d bytes", got.typ,
				len(got.data), m.typ, len(m.p))
		}
	}
	c.Close()
	if err := <-errs; !errors.As(err, new(*CloseError)) || CloseStatus(err) == CloseAbnormal {
		t.Errorf("server saw %v, want a close frame from x/net", err)
	}
}
