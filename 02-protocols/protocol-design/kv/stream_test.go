package kv

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestCodecsReadOneByteAtATime: a stream that delivers one byte per Read
// (the worst partial reads TCP may give) still yields whole messages.
func TestCodecsReadOneByteAtATime(t *testing.T) {
	msgs := []Message{
		{Version: 1, Type: Get, ID: 1, Key: "a"},
		{Version: 2, Type: Set, ID: 2, Key: "b", TTL: 5000000, Value: []byte("x\ny")},
		{Version: 1, Type: Delete.Reply(), Status: StatusNotFound, ID: 3},
	}
	for _, tc := range []struct {
		name string
		enc  func(*Message, []byte) ([]byte, error)
		dec  func(io.Reader) Codec
	}{
		{"binary", (*Message).AppendBinary,
			func(r io.Reader) Codec { return NewBinaryCodec(r, io.Discard) }},
		{"text", (*Message).AppendJSON,
			func(r io.Reader) Codec { return NewTextCodec(r, io.Discard) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stream []byte
			for i := range msgs {
				var err error
				if stream, err = tc.enc(&msgs[i], stream); err != nil {
					t.Fatal(err)
				}
			}
			c := tc.dec(iotest.OneByteReader(bytes.NewReader(stream)))
			for _, want := range msgs {
				got, err := c.ReadMessage()
				if err != nil || got.String() != want.String() {
					t.Fatalf("got %v, %v; want %v", got, err, want)
				}
			}
			if _, err := c.ReadMessage(); err != io.EOF {
				t.Errorf("at the end: got %v, want io.EOF", err)
			}
			// Cut mid-message: an unexpected EOF, not a clean one.
			c = tc.dec(bytes.NewReader(stream[:len(stream)-1]))
			c.ReadMessage()
			c.ReadMessage()
			if _, err := c.ReadMessage(); err != io.ErrUnexpectedEOF {
				t.Errorf("cut short: got %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

// TestBadFrameKeepsStream: a frame in an unknown version is reported and
// skipped; the next frame reads fine.
func TestBadFrameKeepsStream(t *testing.T) {
	stream := unhex(t, "03 01 00 00 00000005 00000004 dead beef")
	ok := Message{Version: 1, Type: Get, ID: 6, Key: "k"}
	stream, _ = ok.AppendBinary(stream)
	c := NewBinaryCodec(bytes.NewReader(stream), io.Discard)
	_, err := c.ReadMessage()
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Header.ID != 5 || !errors.Is(err, ErrVersion) {
		t.Fatalf("got %v, want a FrameError for id 5 wrapping ErrVersion", err)
	}
	if m, err := c.ReadMessage(); err != nil || m.ID != 6 {
		t.Errorf("next frame: got %v, %v; want id 6", m, err)
	}
}

func TestTextLineLimit(t *testing.T) {
	long := strings.Repeat("x", MaxLine+1)
	c := NewTextCodec(strings.NewReader(long), io.Discard)
	if _, err := c.ReadMessage(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("got %v, want ErrTooLarge", err)
	}
}

// FuzzReadMessage runs both stream readers over arbitrary bytes: they
// must end (every read consumes input), never panic, and report every
// failure as an error.
func FuzzReadMessage(f *testing.F) {
	f.Add(unhex(f, vectors[1].hex), false)
	f.Add([]byte(`{"v":1,"type":"get","id":7,"key":"user:42"}`+"\n"), true)
	f.Fuzz(func(t *testing.T, b []byte, text bool) {
		var c Codec = NewBinaryCodec(bytes.NewReader(b), io.Discard)
		if text {
			c = NewTextCodec(bytes.NewReader(b), io.Discard)
		}
		for range len(b) + 1 {
			_, err := c.ReadMessage()
			var fe *FrameError
			if err != nil && !errors.As(err, &fe) {
				return
			}
		}
		t.Fatalf("%d bytes gave more than %d messages", len(b), len(b))
	})
}
