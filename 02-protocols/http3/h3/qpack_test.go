package h3

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeRFC9204Example decodes the static-table example of RFC 9204,
// Appendix B.1: a literal field line with a name reference to index 1.
func TestDecodeRFC9204Example(t *testing.T) {
	got, err := decodeFields(unhex(t, "0000 510b 2f69 6e64 6578 2e68 746d 6c"), 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (headerField{":path", "/index.html"}) {
		t.Errorf("got %v, want [:path /index.html]", got)
	}
}

// TestDecodeHuffman decodes a Huffman-coded value: the code of
// "www.example.com" from RFC 7541, Appendix C.4.1, which QPACK shares.
func TestDecodeHuffman(t *testing.T) {
	got, err := decodeFields(unhex(t, "0000 50 8c f1e3 c2e5 f23a 6ba0 ab90 f4ff"), 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (headerField{":authority", "www.example.com"}) {
		t.Errorf("got %v", got)
	}
}

// TestPrefixIntRFC7541 checks the prefixed integers of RFC 7541,
// Appendix C.1: 10 in a 5-bit prefix, 1337 in a 5-bit prefix, 42 in 8.
func TestPrefixIntRFC7541(t *testing.T) {
	cases := []struct {
		v    uint64
		n    uint
		want string
	}{{10, 5, "0a"}, {1337, 5, "1f9a0a"}, {42, 8, "2a"}}
	for _, tc := range cases {
		b := appendPrefixInt(nil, 0, tc.n, tc.v)
		if hex.EncodeToString(b) != tc.want {
			t.Errorf("%d/%d: got %x, want %s", tc.v, tc.n, b, tc.want)
		}
		v, n, err := readPrefixInt(b, tc.n)
		if err != nil || v != tc.v || n != len(b) {
			t.Errorf("%d/%d: read back %d (%d bytes) %v", tc.v, tc.n, v, n, err)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	fields := []headerField{
		{":method", "GET"},                   // exact static match
		{":path", "/a/rather/long/path?q=1"}, // name reference
		{":status", "200"},
		{"content-type", "text/plain"},
		{"x-custom-header", "Some Value with Spaces"}, // literal name
		{"x-empty", ""},
		{"user-agent", strings.Repeat("z", 300)}, // long value: multi-byte length
	}
	b := encodeFields(nil, fields)
	got, err := decodeFields(b, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(fields) {
		t.Fatalf("got %d fields, want %d", len(got), len(fields))
	}
	for i := range fields {
		if got[i] != fields[i] {
			t.Errorf("field %d: got %v, want %v", i, got[i], fields[i])
		}
	}
	// The exact match is one byte: 1 T=1 index 17.
	if b[2] != 0xc0|17 {
		t.Errorf("got first field line %#x, want indexed static 17 (0xd1)", b[2])
	}
}

// TestDecodeRejects: dynamic table use (our capacity is 0), bad indexes,
// truncation and oversized sections fail with the right codes.
func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name string
		in   string
		code ErrCode
	}{
		{"required insert count 1", "0100 d1", ErrCodeQPACKDecompressionFailed},
		{"indexed dynamic", "0000 81", ErrCodeQPACKDecompressionFailed},
		{"name ref dynamic", "0000 4101 61", ErrCodeQPACKDecompressionFailed},
		{"post-base indexed", "0000 10", ErrCodeQPACKDecompressionFailed},
		{"post-base name ref", "0000 0001 61", ErrCodeQPACKDecompressionFailed},
		{"static index 99", "0000 ff24", ErrCodeQPACKDecompressionFailed},
		{"value runs past end", "0000 5105 61", ErrCodeQPACKDecompressionFailed},
		{"bad huffman", "0000 5081 ff", ErrCodeQPACKDecompressionFailed},
		{"truncated integer", "0000 ff", ErrCodeQPACKDecompressionFailed},
		{"empty", "", ErrCodeQPACKDecompressionFailed},
	}
	for _, tc := range cases {
		_, err := decodeFields(unhex(t, tc.in), 1<<16)
		var e *Error
		if !errors.As(err, &e) || e.Code != tc.code {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.code)
		}
	}
	big := encodeFields(nil, []headerField{{"x-a", strings.Repeat("a", 200)}})
	_, err := decodeFields(big, 100)
	var e *Error
	if !errors.As(err, &e) || e.Code != ErrCodeExcessiveLoad {
		t.Errorf("oversized section: got %v, want H3_EXCESSIVE_LOAD", err)
	}
}

func TestSettings(t *testing.T) {
	b := appendSettings(nil, 12345, 3)
	fr := newFrameReader(strings.NewReader(string(b)))
	typ, length, err := fr.next()
	if err != nil || typ != frameSettings {
		t.Fatalf("got type %d, %v", typ, err)
	}
	p, _ := fr.payload(length, 1000)
	s, err := parseSettings(p)
	if err != nil || s.maxFieldSectionSize != 12345 || s.qpackMaxTable != 0 {
		t.Errorf("got %+v, %v", s, err)
	}
	for name, in := range map[string]string{
		"repeated":        "0601 0602",
		"http/2 setting":  "0264",
		"truncated value": "0640",
	} {
		_, err := parseSettings(unhex(t, in))
		if err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
}

func FuzzDecodeFields(f *testing.F) {
	f.Add(encodeFields(nil, []headerField{{":method", "GET"}, {"x", "y"}}))
	f.Add([]byte{0, 0, 0x51, 0x0b, '/', 'i', 'n', 'd', 'e', 'x', '.', 'h', 't', 'm', 'l'})
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := decodeFields(b, 4096)
		if err != nil {
			return
		}
		var total uint64
		for _, fl := range fields {
			total += fl.size()
		}
		if total > 4096 {
			t.Fatalf("decoded %d bytes past the 4096 limit", total)
		}
		requestFromFields(fields)
		responseFromFields(fields)
	})
}

func FuzzSettings(f *testing.F) {
	f.Add(appendSettings(nil, 100, 1)[2:])
	f.Fuzz(func(t *testing.T, b []byte) { parseSettings(b) })
}

// FuzzRequestStream feeds arbitrary bytes to the server's request-stream
// reader: frames, the field section, the request checks and the body.
func FuzzRequestStream(f *testing.F) {
	get := appendFrame(nil, frameHeaders, encodeFields(nil, []headerField{
		{":method", "POST"}, {":scheme", "https"}, {":authority", "x"},
		{":path", "/"}, {"content-length", "3"}}))
	f.Add(appendFrame(get, frameData, []byte("abc")))
	f.Add(appendFrame(appendFrame(get, 0x21, []byte("grease")), frameData, []byte("ab")))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr := newFrameReader(bytes.NewReader(b))
		fields, err := readHeaders(fr, 4096, true)
		if err != nil {
			return
		}
		req, err := requestFromFields(fields)
		if err != nil {
			return
		}
		body := &body{fr: fr, max: 4096, isServer: true, remain: req.ContentLength}
		n, _ := io.Copy(io.Discard, body)
		if req.ContentLength >= 0 && n > req.ContentLength {
			t.Fatalf("read %d body bytes past content-length %d", n, req.ContentLength)
		}
	})
}
