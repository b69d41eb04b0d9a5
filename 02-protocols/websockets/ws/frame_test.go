package ws

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The examples of RFC 6455 section 5.7, byte for byte.
var rfcFrames = []struct {
	name    string
	wire    []byte
	header  Header
	payload string
}{
	{"unmasked text", []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		Header{Fin: true, Op: OpText, Length: 5}, "Hello"},
	{"masked text", []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		Header{Fin: true, Op: OpText, Masked: true, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}, Length: 5}, "Hello"},
	{"first fragment", []byte{0x01, 0x03, 0x48, 0x65, 0x6c},
		Header{Op: OpText, Length: 3}, "Hel"},
	{"last fragment", []byte{0x80, 0x02, 0x6c, 0x6f},
		Header{Fin: true, Op: OpContinuation, Length: 2}, "lo"},
	{"unmasked ping", []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		Header{Fin: true, Op: OpPing, Length: 5}, "Hello"},
	{"masked pong", []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		Header{Fin: true, Op: OpPong, Masked: true, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}, Length: 5}, "Hello"},
	{"256 bytes binary", append([]byte{0x82, 0x7e, 0x01, 0x00}, bytes.Repeat([]byte{'x'}, 256)...),
		Header{Fin: true, Op: OpBinary, Length: 256}, strings.Repeat("x", 256)},
	{"64 KiB binary", append([]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, bytes.Repeat([]byte{'y'}, 65536)...),
		Header{Fin: true, Op: OpBinary, Length: 65536}, strings.Repeat("y", 65536)},
}

func TestRFCFrames(t *testing.T) {
	for _, tc := range rfcFrames {
		h, n, err := ParseHeader(tc.wire)
		if err != nil || h != tc.header {
			t.Errorf("%s: got %+v %v, want %+v", tc.name, h, err, tc.header)
			continue
		}
		p := append([]byte(nil), tc.wire[n:]...)
		if h.Masked {
			maskBytes(h.Mask, 0, p)
		}
		if string(p) != tc.payload {
			t.Errorf("%s: got payload %.20q, want %.20q", tc.name, p, tc.payload)
		}
		if enc := AppendHeader(nil, tc.header); !bytes.Equal(enc, tc.wire[:n]) {
			t.Errorf("%s: encoded % x, want % x", tc.name, enc, tc.wire[:n])
		}
	}
}

// TestRFCAcceptKey is the example of section 1.3.
func TestRFCAcceptKey(t *testing.T) {
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("got %s, want s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", got)
	}
}

// TestReadRFCMessages reads the RFC's server-to-client frames through a
// client Conn: the fragmented "Hello" with the ping between its
// fragments, then the 256-byte and 64 KiB messages.
func TestReadRFCMessages(t *testing.T) {
	var in []byte
	for _, i := range []int{2, 4, 3, 0, 6, 7} {
		in = append(in, rfcFrames[i].wire...)
	}
	fc := &fakeConn{r: bytes.NewReader(in)}
	var pings []string
	c := NewConn(fc, nil, false, "", &Options{MaxMessageSize: 1 << 17,
		OnPing: func(p []byte) { pings = append(pings, string(p)) }})
	for _, want := range []struct {
		typ  Opcode
		text string
	}{{OpText, "Hello"}, {OpText, "Hello"}, {OpBinary, strings.Repeat("x", 256)},
		{OpBinary, strings.Repeat("y", 65536)}} {
		typ, msg, err := c.ReadMessage()
		if err != nil || typ != want.typ || string(msg) != want.text {
			t.Fatalf("got %v %.20q %v, want %v %.20q", typ, msg, err, want.typ, want.text)
		}
	}
	if len(pings) != 1 || pings[0] != "Hello" {
		t.Errorf("got pings %q, want [Hello]", pings)
	}
	// The ping was answered with a masked pong carrying the same payload.
	h, n, err := ParseHeader(fc.w.Bytes())
	pong := fc.w.Bytes()[n:]
	maskBytes(h.Mask, 0, pong)
	if err != nil || h.Op != OpPong || !h.Masked || string(pong) != "Hello" {
		t.Errorf("got %+v %q %v, want a masked pong Hello", h, pong, err)
	}
}

func TestMaskMatchesNaive(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for n := range 70 {
		for pos := range 4 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(i * 7)
			}
			want := append([]byte(nil), b...)
			for i := range want {
				want[i] ^= key[(pos+i)%4]
			}
			if next := maskBytes(key, pos, b); !bytes.Equal(b, want) || next != (pos+n)%4 {
				t.Fatalf("n=%d pos=%d: got % x next %d", n, pos, b, next)
			}
		}
	}
}

func TestUTF8(t *testing.T) {
	cases := map[string]bool{
		"Hello-µ@ßöäüàá-UTF-8!!": true,
		"κόσμε":                  true,
		"\xed\xa0\x80":           false, // a surrogate, U+D800
		"\xc0\xaf":               false, // overlong '/'
		"\xf4\x90\x80\x80":       false, // above U+10FFFF
		"\xf4\x8f\xbf\xbf":       true,  // U+10FFFF
		"\xef\xbf\xbf":           true,  // U+FFFF
		"\xce\xba\xe1\xbd":       false, // ends mid-character
		"\xff":                   false,
	}
	for s, want := range cases {
		var st utf8State
		got := st.feed([]byte(s)) && st.complete()
		if got != want {
			t.Errorf("%q: got %v, want %v", s, got, want)
		}
	}
	// Fail fast: a byte that no continuation can rescue fails at once.
	var st utf8State
	if st.feed([]byte("\xf4\x90")) {
		t.Errorf("\\xf4\\x90 accepted; it can only lead above U+10FFFF")
	}
}

// FuzzUTF8 checks the streaming validator against utf8.Valid with the
// text cut in two at every point the fuzzer picks.
func FuzzUTF8(f *testing.F) {
	f.Add([]byte("κόσμε"), uint8(3))
	f.Add([]byte("\xed\xa0\x80"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, cut uint8) {
		i := int(cut) % (len(b) + 1)
		var st utf8State
		got := st.feed(b[:i]) && st.feed(b[i:]) && st.complete()
		if got != utf8.Valid(b) {
			t.Fatalf("%q cut at %d: got %v, utf8.Valid says %v", b, i, got, !got)
		}
	})
}

// FuzzParseHeader: no panic, and every header that parses encodes back
// to one that parses the same.
func FuzzParseHeader(f *testing.F) {
	for _, tc := range rfcFrames {
		f.Add(tc.wire[:min(len(tc.wire), 14)])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHeader(b)
		if err != nil {
			return
		}
		if n > MaxHeaderLen || n > len(b) {
			t.Fatalf("header length %d of %d bytes", n, len(b))
		}
		h2, _, err := ParseHeader(AppendHeader(nil, h))
		if err != nil || h2 != h {
			t.Fatalf("round trip: %+v became %+v (%v)", h, h2, err)
		}
	})
}

// FuzzReadFrames feeds arbitrary bytes to a server Conn as if a client
// sent them: it must return messages or a *CloseError, never panic,
// never hold more than its limits, and answer a failure with a close
// frame carrying the same code.
func FuzzReadFrames(f *testing.F) {
	for _, tc := range rfcFrames[:6] {
		f.Add(tc.wire)
	}
	f.Add([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8})
	f.Add([]byte{0x81, 0x82, 1, 2, 3, 4, 0xce ^ 1, 0xba ^ 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		fc := &fakeConn{r: bytes.NewReader(b)}
		c := NewConn(fc, nil, true, "", &Options{MaxMessageSize: 1 << 12})
		for range 100 {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				var ce *CloseError
				if !errors.As(err, &ce) {
					t.Fatalf("got %T %v, want a *CloseError", err, err)
				}
				if !ce.Remote && ce.Code != CloseAbnormal {
					// A failure answered on the wire: the last frame
					// sent must be a close with this code.
					if code := lastClose(t, fc.w.Bytes()); code != ce.Code {
						t.Fatalf("failed with %d but sent close %d", ce.Code, code)
					}
				}
				return
			}
			if len(msg) > 1<<12 || typ != OpText && typ != OpBinary {
				t.Fatalf("got %v message of %d bytes", typ, len(msg))
			}
			if typ == OpText && !utf8.Valid(msg) {
				t.Fatalf("accepted invalid UTF-8 %q", msg)
			}
		}
	})
}

// lastClose returns the code of the last close frame in a server's
// output, 1005 for an empty one, 0 if there is none.
func lastClose(t *testing.T, out []byte) CloseCode {
	var code CloseCode
	for len(out) > 0 {
		h, n, err := ParseHeader(out)
		if err != nil {
			t.Fatalf("server wrote a bad frame: %v", err)
		}
		p := out[n : n+int(h.Length)]
		if h.Op == OpClose {
			code = CloseNoStatus
			if len(p) >= 2 {
				code = CloseCode(p[0])<<8 | CloseCode(p[1])
			}
		}
		out = out[n+int(h.Length):]
	}
	return code
}

// fakeConn is a net.Conn that reads from r and records writes: what a
// decoder fuzzer needs, with no sockets or goroutines.
type fakeConn struct {
	r io.Reader
	w bytes.Buffer
}

func (c *fakeConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *fakeConn) Close() error                     { return nil }
func (c *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }
