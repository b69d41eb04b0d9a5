package grpcwire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// msg is the tests' message, written by hand like any other: field 1 a
// string, field 2 an int64.
type msg struct {
	S string
	N int64
}

func (m *msg) MarshalAppend(b []byte) []byte {
	if m.S != "" {
		b = binary.AppendUvarint(append(b, 0x0a), uint64(len(m.S)))
		b = append(b, m.S...)
	}
	if m.N != 0 {
		b = binary.AppendUvarint(append(b, 0x10), uint64(m.N))
	}
	return b
}

var errMsg = errors.New("not a test message")

func (m *msg) Unmarshal(b []byte) error {
	*m = msg{}
	for len(b) > 0 {
		tag := b[0]
		v, n := binary.Uvarint(b[1:])
		if n <= 0 {
			return errMsg
		}
		b = b[1+n:]
		switch tag {
		case 0x0a:
			if v > uint64(len(b)) {
				return errMsg
			}
			m.S, b = string(b[:v]), b[v:]
		case 0x10:
			m.N = int64(v)
		default:
			return errMsg
		}
	}
	return nil
}

func TestTimeout(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		wire string
	}{
		{0, "0n"}, {-time.Second, "0n"}, {1, "1n"}, {99999999, "99999999n"},
		{100000000, "100000u"}, {100000001, "100001u"}, // rounded up
		{time.Second, "1000000u"}, {time.Minute, "60000000u"},
		{time.Hour, "3600000m"}, {30 * time.Hour, "108000S"},
		{math.MaxInt64, "2562048H"},
	} {
		if got := EncodeTimeout(c.d); got != c.wire {
			t.Errorf("EncodeTimeout(%v) = %q, want %q", c.d, got, c.wire)
		}
		if got, err := ParseTimeout(c.wire); err != nil || got < c.d && c.d > 0 {
			t.Errorf("ParseTimeout(%q) = %v, %v; want at least %v", c.wire, got, err, c.d)
		}
	}
	for _, c := range []struct {
		wire string
		d    time.Duration
	}{{"1H", time.Hour}, {"2M", 2 * time.Minute}, {"3S", 3 * time.Second},
		{"4m", 4 * time.Millisecond}, {"5u", 5 * time.Microsecond}, {"6n", 6},
		{"00000007S", 7 * time.Second}, {"99999999H", math.MaxInt64}} {
		if got, err := ParseTimeout(c.wire); got != c.d || err != nil {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v", c.wire, got, err, c.d)
		}
	}
	for _, bad := range []string{"", "S", "1", "1s", "1h", "-1S", "123456789S", "1.5S", " 1S", "1S "} {
		if _, err := ParseTimeout(bad); !errors.Is(err, ErrBadTimeout) {
			t.Errorf("ParseTimeout(%q): got %v, want ErrBadTimeout", bad, err)
		}
	}
}

func TestPercentEncoding(t *testing.T) {
	// special_status_message from the interop tests.
	special := "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
	for _, c := range []struct{ plain, wire string }{
		{"", ""},
		{"plain text stays", "plain text stays"},
		{"100%", "100%25"},
		{"a\x00b\x7f", "a%00b%7F"},
		{special, "%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA " +
			"and non-BMP %F0%9F%98%88%09%0A"},
	} {
		if got := EncodeMessage(c.plain); got != c.wire {
			t.Errorf("EncodeMessage(%q) = %q, want %q", c.plain, got, c.wire)
		}
		if got := DecodeMessage(c.wire); got != c.plain {
			t.Errorf("DecodeMessage(%q) = %q, want %q", c.wire, got, c.plain)
		}
	}
	// Invalid encodings must not fail or be thrown away.
	for _, c := range []struct{ wire, want string }{
		{"%", "%"}, {"%4", "%4"}, {"%zz ok", "%zz ok"}, {"50%", "50%"},
		{"%41%", "A%"}, {"%e2%98%ba", "☺"},
	} {
		if got := DecodeMessage(c.wire); got != c.want {
			t.Errorf("DecodeMessage(%q) = %q, want %q", c.wire, got, c.want)
		}
	}
}

func TestCodeNames(t *testing.T) {
	for c, want := range map[Code]string{OK: "OK", Canceled: "CANCELLED",
		DeadlineExceeded: "DEADLINE_EXCEEDED", Unimplemented: "UNIMPLEMENTED",
		Unauthenticated: "UNAUTHENTICATED", 99: "CODE(99)"} {
		if c.String() != want {
			t.Errorf("got %q, want %q", c.String(), want)
		}
	}
}

func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want Code
	}{
		{nil, OK},
		{Errorf(NotFound, "x"), NotFound},
		{fmt.Errorf("wrapped: %w", Errorf(Aborted, "y")), Aborted},
		{context.DeadlineExceeded, DeadlineExceeded},
		{context.Canceled, Canceled},
		{io.ErrUnexpectedEOF, Unknown},
	} {
		if got := CodeOf(c.err); got != c.want {
			t.Errorf("CodeOf(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	for code, want := range map[int]Code{400: Internal, 401: Unauthenticated,
		403: PermissionDenied, 404: Unimplemented, 429: Unavailable,
		502: Unavailable, 503: Unavailable, 504: Unavailable, 500: Unknown} {
		if got := statusFromHTTP(code).Code; got != want {
			t.Errorf("HTTP %d: got %v, want %v", code, got, want)
		}
	}
	for code, want := range map[http2.ErrCode]Code{http2.ErrCodeNo: Internal,
		http2.ErrCodeProtocol: Internal, http2.ErrCodeRefusedStream: Unavailable,
		http2.ErrCodeCancel: Canceled, http2.ErrCodeEnhanceYourCalm: ResourceExhausted,
		http2.ErrCodeInadequateSecurity: PermissionDenied} {
		if got := statusFromReset(code).Code; got != want {
			t.Errorf("RST_STREAM %v: got %v, want %v", code, got, want)
		}
	}
}

func TestMetadata(t *testing.T) {
	md := Metadata{}
	md.Add("X-Trace", "abc")
	md.Add("x-trace", "def")
	md.Set("blob-bin", "\x00\xff\xab", "ok")
	h := http.Header{}
	if err := md.writeTo(h, ""); err != nil {
		t.Fatal(err)
	}
	if got := h["blob-bin"]; len(got) != 2 || got[0] != "AP+r" || got[1] != "b2s" {
		t.Errorf("got -bin values %q, want unpadded base64 AP+r and b2s", got)
	}
	// Received: canonical keys, a padded value, and values joined by commas.
	in := http.Header{"X-Trace": {"abc", "def"}, "Blob-Bin": {"AP+r,b2s="},
		"Grpc-Timeout": {"1S"}, "Content-Type": {"application/grpc"}, "Te": {"trailers"}}
	got, err := metadataFrom(in)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(md) {
		t.Errorf("got %v, want %v", got, md)
	}
	if _, err := metadataFrom(http.Header{"X-Bin": {"!!"}}); err == nil {
		t.Error("invalid base64: got no error")
	}
	for _, bad := range []Metadata{{"Upper": {"v"}}, {"grpc-x": {"v"}},
		{"te": {"v"}}, {"sp ace": {"v"}}, {"": {"v"}}, {"x": {"line\nbreak"}},
		{"x": {"é"}}} {
		if err := bad.writeTo(http.Header{}, ""); err == nil {
			t.Errorf("%v: got no error", bad)
		}
	}
}

func TestFraming(t *testing.T) {
	b, err := AppendFrame(nil, &msg{S: "hi"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 0, 0, 4, 0x0a, 2, 'h', 'i'}; !bytes.Equal(b, want) {
		t.Errorf("got % x, want % x", b, want)
	}
	if _, err := AppendFrame(nil, &msg{S: "hi"}, 3); CodeOf(err) != ResourceExhausted {
		t.Errorf("over the send limit: got %v, want RESOURCE_EXHAUSTED", err)
	}
	empty, _ := AppendFrame(nil, &msg{}, 100)
	two := append(append([]byte(nil), b...), empty...)
	r := bytes.NewReader(two)
	for i, want := range []string{"\x0a\x02hi", ""} {
		got, err := ReadFrame(r, nil, 100)
		if err != nil || string(got) != want {
			t.Errorf("message %d: got %q, %v; want %q", i, got, err, want)
		}
	}
	if _, err := ReadFrame(r, nil, 100); err != io.EOF {
		t.Errorf("at the end: got %v, want io.EOF", err)
	}
	for _, c := range []struct {
		name string
		in   []byte
		want Code
	}{
		{"cut in the header", []byte{0, 0, 0}, Internal},
		{"cut in the message", []byte{0, 0, 0, 0, 4, 1, 2}, Internal},
		{"compressed", []byte{1, 0, 0, 0, 0}, Internal},
		{"bad flag", []byte{2, 0, 0, 0, 0}, Internal},
		{"too large", []byte{0, 0, 0, 0, 101}, ResourceExhausted},
		{"4 GiB", []byte{0, 0xff, 0xff, 0xff, 0xff}, ResourceExhausted},
	} {
		_, err := ReadFrame(bytes.NewReader(c.in), nil, 100)
		if CodeOf(err) != c.want {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestSplitMethod(t *testing.T) {
	for p, ok := range map[string]bool{"/a.B/C": true, "/B/C": true, "a.B/C": false,
		"/a.B": false, "/a.B/": false, "//C": false, "/a/b/c": false} {
		if _, _, got := splitMethod(p); got != ok {
			t.Errorf("splitMethod(%q): got %v, want %v", p, got, ok)
		}
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 2, 0x10, 1, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		var buf []byte
		for {
			b, err := ReadFrame(r, buf, 1<<10)
			if err != nil {
				if err != io.EOF {
					if c := CodeOf(err); c != Internal && c != ResourceExhausted {
						t.Fatalf("got %v, want INTERNAL or RESOURCE_EXHAUSTED", err)
					}
				}
				return
			}
			if len(b) > 1<<10 {
				t.Fatalf("got a %d-byte message over the limit", len(b))
			}
			buf = b[:0]
		}
	})
}

func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"1S", "99999999H", "0n", "12x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTimeout(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseTimeout(%q) = %v, want no negative deadline", s, d)
		}
		// What we send back parses to at least the same deadline.
		if d2, err := ParseTimeout(EncodeTimeout(d)); err != nil || d2 < d {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, d, EncodeTimeout(d), d2, err)
		}
	})
}

func FuzzPercent(f *testing.F) {
	f.Add("\t\ntest ☺ 😈 100%")
	f.Add("%zz%4")
	f.Fuzz(func(t *testing.T, s string) {
		enc := EncodeMessage(s)
		for i := 0; i < len(enc); i++ {
			if enc[i] < 0x20 || enc[i] > 0x7e {
				t.Fatalf("EncodeMessage(%q) = %q holds byte %#x", s, enc, enc[i])
			}
		}
		if got := DecodeMessage(enc); got != s {
			t.Fatalf("round trip of %q gave %q", s, got)
		}
		_ = DecodeMessage(s) // anything decodes, leniently
	})
}

func FuzzMetadata(f *testing.F) {
	f.Add("x-bin", "AP+r,b2s=")
	f.Add("x", "v")
	f.Fuzz(func(t *testing.T, k, v string) {
		md, err := metadataFrom(http.Header{k: {v}})
		if err != nil {
			return
		}
		// What was received can be sent again, if its key is valid.
		h := http.Header{}
		if err := md.writeTo(h, ""); err != nil && validKey(strings.ToLower(k)) &&
			strings.HasSuffix(strings.ToLower(k), "-bin") {
			t.Fatalf("received %q: %q, cannot send it back: %v", k, v, err)
		}
	})
}

// FuzzParseStatus: whatever a server puts in grpc-status and grpc-message,
// the client gets a status, never a panic.
func FuzzParseStatus(f *testing.F) {
	f.Add("0", "")
	f.Add("13", "%E2%98%BA%zz")
	f.Add("-1", "x")
	f.Fuzz(func(t *testing.T, code, msg string) {
		st := parseStatus([]string{code}, []string{msg})
		if st.Code == OK && st.Message != DecodeMessage(msg) {
			t.Fatalf("got %+v", st)
		}
	})
}
