package kv

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestJSONTwin(t *testing.T) {
	cases := []struct {
		m    Message
		line string
	}{
		{Message{Version: 1, Type: Get, ID: 7, Key: "user:42"},
			`{"v":1,"type":"get","id":7,"key":"user:42"}`},
		{Message{Version: 1, Type: Get.Reply(), ID: 7, Value: []byte("Ada")},
			`{"v":1,"type":"get-reply","id":7,"status":"ok","value":"Ada"}`},
		{Message{Version: 2, Type: Set, ID: 9, Key: "k", TTL: 1500 * time.Millisecond,
			Value: []byte("hi")},
			`{"v":2,"type":"set","id":9,"key":"k","ttl_ms":1500,"value":"hi"}`},
		{Message{Version: 1, Type: 0x85, Status: StatusBadRequest, ID: 3},
			`{"v":1,"type":"type(0x85)","id":3,"status":"bad-request"}`},
	}
	for _, c := range cases {
		b, err := c.m.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b); got != c.line+"\n" {
			t.Errorf("encode: got %q, want %q", got, c.line+"\n")
		}
		m, err := DecodeJSON([]byte(c.line))
		if err != nil {
			t.Fatalf("decode %s: %v", c.line, err)
		}
		if m.String() != c.m.String() {
			t.Errorf("decode: got %v, want %v", m, c.m)
		}
	}
}

func TestJSONRejects(t *testing.T) {
	cases := []struct {
		line string
		want error
	}{
		{`{"v":3,"type":"get","id":1}`, ErrVersion},
		{`{"v":1,"type":"fetch","id":1}`, ErrMalformed},
		{`{"v":1,"type":"get","id":1,"colour":"red"}`, ErrMalformed},
		{`{"v":1,"type":"get","id":1,"ttl_ms":5}`, ErrMalformed},
		{`{"v":1,"type":"get-reply","id":1,"status":"meh"}`, ErrMalformed},
		{`{"v":1,"type":"get","id":1}{"v":1}`, ErrMalformed},
		{`{"v":1,"type":"get","id":-1}`, ErrMalformed},
		{`not json`, ErrMalformed},
		{`{"v":1,"type":"get","key":"` + strings.Repeat("k", MaxKey+1) + `"}`, ErrTooLarge},
	}
	for _, c := range cases {
		if _, err := DecodeJSON([]byte(c.line)); !errors.Is(err, c.want) {
			t.Errorf("%.60s: got %v, want %v", c.line, err, c.want)
		}
	}
	bin := Message{Version: 1, Type: Set, Key: "k", Value: []byte{0xff, 0xfe}}
	if _, err := bin.AppendJSON(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("binary value: got %v, want ErrMalformed", err)
	}
}

// FuzzDecodeJSON: the text decoder never panics, and what it accepts
// encodes and decodes back to the same message.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"get","id":7,"key":"user:42"}`))
	f.Add([]byte(`{"v":2,"type":"set","id":9,"key":"k","ttl_ms":1500,"value":"hi"}`))
	f.Add([]byte(`{"v":1,"type":"type(0x85)","id":3,"status":"bad-request"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := DecodeJSON(line)
		if err != nil {
			return
		}
		b, err := m.AppendJSON(nil)
		if err != nil {
			t.Fatalf("decoded %v, which does not encode: %v", m, err)
		}
		m2, err := DecodeJSON(b)
		if err != nil || m2.String() != m.String() {
			t.Fatalf("round trip: got %v, %v; want %v", m2, err, m)
		}
	})
}
