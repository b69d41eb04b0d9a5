package protowire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// inner and kitchen are testdata/kitchen.proto written by hand, the way
// any message using this package is.
type inner struct {
	A       int32
	Note    string
	unknown []byte
}

func (m *inner) MarshalAppend(b []byte) []byte {
	if m.A != 0 {
		b = AppendInt32(b, 1, m.A)
	}
	if m.Note != "" {
		b = AppendString(b, 2, m.Note)
	}
	return append(b, m.unknown...)
}

func (m *inner) Merge(b []byte) error {
	r := NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case MakeTag(1, Varint):
			m.A = r.Int32()
		case MakeTag(2, Len):
			m.Note = r.Text()
		default:
			m.unknown = r.AppendUnknown(m.unknown)
		}
	}
	return r.Err()
}

type kitchen struct {
	I32      int32
	I64      int64
	U32      uint32
	U64      uint64
	S32      int32
	S64      int64
	Flag     bool
	F32      uint32
	F64      uint64
	SF32     int32
	SF64     int64
	Fl       float32
	Db       float64
	Text     string
	Blob     []byte
	Inner    *inner
	Inners   []*inner
	Packed   []int32
	Unpacked []int32
	Zigzags  []int64
	Fixeds   []uint32
	Doubles  []float64
	unknown  []byte
}

func (m *kitchen) MarshalAppend(b []byte) []byte {
	if m.I32 != 0 {
		b = AppendInt32(b, 1, m.I32)
	}
	if m.I64 != 0 {
		b = AppendInt64(b, 2, m.I64)
	}
	if m.U32 != 0 {
		b = AppendUint32(b, 3, m.U32)
	}
	if m.U64 != 0 {
		b = AppendUint64(b, 4, m.U64)
	}
	if m.S32 != 0 {
		b = AppendSint32(b, 5, m.S32)
	}
	if m.S64 != 0 {
		b = AppendSint64(b, 6, m.S64)
	}
	if m.Flag {
		b = AppendBool(b, 7, m.Flag)
	}
	if m.F32 != 0 {
		b = AppendFixed32(b, 8, m.F32)
	}
	if m.F64 != 0 {
		b = AppendFixed64(b, 9, m.F64)
	}
	if m.SF32 != 0 {
		b = AppendSfixed32(b, 10, m.SF32)
	}
	if m.SF64 != 0 {
		b = AppendSfixed64(b, 11, m.SF64)
	}
	if m.Fl != 0 {
		b = AppendFloat(b, 12, m.Fl)
	}
	if m.Db != 0 {
		b = AppendDouble(b, 13, m.Db)
	}
	if m.Text != "" {
		b = AppendString(b, 14, m.Text)
	}
	if len(m.Blob) > 0 {
		b = AppendBytes(b, 15, m.Blob)
	}
	if m.Inner != nil {
		b = AppendMessage(b, 16, m.Inner)
	}
	for _, in := range m.Inners {
		b = AppendMessage(b, 17, in)
	}
	b = AppendPacked(b, 18, m.Packed)
	for _, v := range m.Unpacked {
		b = AppendInt32(b, 19, v)
	}
	b = AppendPackedSint(b, 20, m.Zigzags)
	b = AppendPackedFixed32(b, 21, m.Fixeds)
	b = AppendPackedDouble(b, 22, m.Doubles)
	return append(b, m.unknown...)
}

func (m *kitchen) Unmarshal(b []byte) error {
	*m = kitchen{}
	return m.Merge(b)
}

func (m *kitchen) Merge(b []byte) error {
	r := NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case MakeTag(1, Varint):
			m.I32 = r.Int32()
		case MakeTag(2, Varint):
			m.I64 = r.Int64()
		case MakeTag(3, Varint):
			m.U32 = r.Uint32()
		case MakeTag(4, Varint):
			m.U64 = r.Uint64()
		case MakeTag(5, Varint):
			m.S32 = r.Sint32()
		case MakeTag(6, Varint):
			m.S64 = r.Sint64()
		case MakeTag(7, Varint):
			m.Flag = r.Bool()
		case MakeTag(8, I32):
			m.F32 = r.Fixed32()
		case MakeTag(9, I64):
			m.F64 = r.Fixed64()
		case MakeTag(10, I32):
			m.SF32 = r.Sfixed32()
		case MakeTag(11, I64):
			m.SF64 = r.Sfixed64()
		case MakeTag(12, I32):
			m.Fl = r.Float()
		case MakeTag(13, I64):
			m.Db = r.Double()
		case MakeTag(14, Len):
			m.Text = r.Text()
		case MakeTag(15, Len):
			m.Blob = r.Bytes()
		case MakeTag(16, Len):
			if m.Inner == nil {
				m.Inner = new(inner)
			}
			r.Merge(m.Inner)
		case MakeTag(17, Len):
			in := new(inner)
			r.Merge(in)
			m.Inners = append(m.Inners, in)
		case MakeTag(18, Len), MakeTag(18, Varint):
			m.Packed = Varints(&r, m.Packed)
		case MakeTag(19, Len), MakeTag(19, Varint):
			m.Unpacked = Varints(&r, m.Unpacked)
		case MakeTag(20, Len), MakeTag(20, Varint):
			m.Zigzags = Sints(&r, m.Zigzags)
		case MakeTag(21, Len), MakeTag(21, I32):
			m.Fixeds = Fixed32s(&r, m.Fixeds)
		case MakeTag(22, Len), MakeTag(22, I64):
			m.Doubles = Doubles(&r, m.Doubles)
		default:
			m.unknown = r.AppendUnknown(m.unknown)
		}
	}
	return r.Err()
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSpecExamples encodes and decodes the examples of the encoding
// document byte for byte.
func TestSpecExamples(t *testing.T) {
	cases := []struct {
		name string
		m    kitchen // only the fields named in the example
		wire string
	}{
		{"Test1 a=150", kitchen{I32: 150}, "08 96 01"},
		{"Test2 b=testing", kitchen{Text: "testing"},
			"72 07 74 65 73 74 69 6e 67"}, // field 14 here, so tag 0x72
		{"Test3 c={a:150}", kitchen{Inner: &inner{A: 150}}, "82 01 03 08 96 01"},
		{"int32 -2 is ten bytes", kitchen{I32: -2},
			"08 fe ff ff ff ff ff ff ff ff 01"},
		{"sint32 -500 is 999", kitchen{S32: -500}, "28 e7 07"},
		{"sint64 -1 is 1", kitchen{S64: -1}, "30 01"},
		{"fixed32 200i32", kitchen{F32: 200}, "45 c8 00 00 00"},
		{"double 25.4", kitchen{Db: 25.4}, "69 66 66 66 66 66 66 39 40"},
		{"Test4 e=[1,2,3] packed", kitchen{Packed: []int32{1, 2, 3}},
			"92 01 03 01 02 03"},
		{"unpacked [1,2]", kitchen{Unpacked: []int32{1, 2}}, "98 01 01 98 01 02"},
		{"bool true", kitchen{Flag: true}, "38 01"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := unhex(t, c.wire)
			if got := c.m.MarshalAppend(nil); !bytes.Equal(got, want) {
				t.Errorf("encoded % x, want % x", got, want)
			}
			var got kitchen
			if err := got.Unmarshal(want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.m) {
				t.Errorf("decoded %+v, want %+v", got, c.m)
			}
		})
	}
}

func TestVarint(t *testing.T) {
	for _, c := range []struct {
		v    uint64
		wire string
	}{
		{0, "00"}, {1, "01"}, {127, "7f"}, {128, "80 01"}, {150, "96 01"},
		{300, "ac 02"}, {math.MaxUint32, "ff ff ff ff 0f"},
		{math.MaxUint64, "ff ff ff ff ff ff ff ff ff 01"},
	} {
		want := unhex(t, c.wire)
		if got := AppendVarint(nil, c.v); !bytes.Equal(got, want) {
			t.Errorf("%d: encoded % x, want % x", c.v, got, want)
		}
		if n := SizeVarint(c.v); n != len(want) {
			t.Errorf("%d: size %d, want %d", c.v, n, len(want))
		}
		v, n, err := ConsumeVarint(append(want, 0xaa))
		if v != c.v || n != len(want) || err != nil {
			t.Errorf("% x: decoded %d, %d, %v", want, v, n, err)
		}
	}
	for _, bad := range []string{"", "80", "ff ff", "ff ff ff ff ff ff ff ff ff 02",
		"ff ff ff ff ff ff ff ff ff ff 01"} {
		if _, _, err := ConsumeVarint(unhex(t, bad)); err == nil {
			t.Errorf("% s: got no error", bad)
		}
	}
}

func TestZigZag(t *testing.T) {
	// The encoding document's table.
	for _, c := range []struct {
		v int64
		u uint64
	}{{0, 0}, {-1, 1}, {1, 2}, {-2, 3}, {0x7fffffff, 0xfffffffe},
		{-0x80000000, 0xffffffff}, {math.MinInt64, math.MaxUint64}} {
		if u := EncodeZigZag(c.v); u != c.u {
			t.Errorf("%d: got %d, want %d", c.v, u, c.u)
		}
		if v := DecodeZigZag(c.u); v != c.v {
			t.Errorf("%d: got %d, want %d", c.u, v, c.v)
		}
	}
}

// TestParsersMustAccept: the forms the encoding document says parsers
// must accept.
func TestParsersMustAccept(t *testing.T) {
	cases := []struct {
		name string
		wire string
		want kitchen
	}{
		{"fields in any order", "72 01 78 08 05", kitchen{I32: 5, Text: "x"}},
		{"last one wins", "08 01 08 02 72 01 61 72 01 62", kitchen{I32: 2, Text: "b"}},
		{"embedded messages merge", "82 01 02 08 07 82 01 03 12 01 7a",
			kitchen{Inner: &inner{A: 7, Note: "z"}}},
		{"packed split over records, interleaved",
			"92 01 02 01 02 72 01 68 92 01 01 03", kitchen{Packed: []int32{1, 2, 3}, Text: "h"}},
		{"packed field sent unpacked", "90 01 01 90 01 02", kitchen{Packed: []int32{1, 2}}},
		{"unpacked field sent packed", "9a 01 02 01 02", kitchen{Unpacked: []int32{1, 2}}},
		{"repeated messages", "8a 01 02 08 01 8a 01 02 08 02",
			kitchen{Inners: []*inner{{A: 1}, {A: 2}}}},
		{"int32 keeps the low 32 bits", "08 ff ff ff ff 1f", kitchen{I32: -1}},
		{"empty message", "", kitchen{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got kitchen
			if err := got.Unmarshal(unhex(t, c.wire)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestUnknownFieldsKept: fields the message does not know, of every wire
// type and a nested group among them, survive a decode and re-encode
// byte for byte; so does a known field number with the wrong wire type.
func TestUnknownFieldsKept(t *testing.T) {
	unknown := unhex(t, strings.Join([]string{
		"f0 01 05",                            // 30: varint 5
		"fd 01 01 02 03 04",                   // 31: I32
		"81 02 01 02 03 04 05 06 07 08",       // 32: I64
		"8a 02 03 61 62 63",                   // 33: LEN "abc"
		"93 02 08 01 9b 02 10 02 9c 02 94 02", // 34: group {1:1, 35: group {2:2}}
		"0a 01 78",                            // 1 as LEN: wrong wire type for int32
	}, " "))
	wire := append(unhex(t, "08 2a"), unknown...)
	var m kitchen
	if err := m.Unmarshal(wire); err != nil {
		t.Fatal(err)
	}
	if m.I32 != 42 || !bytes.Equal(m.unknown, unknown) {
		t.Errorf("got I32 %d, unknown % x; want 42 and % x", m.I32, m.unknown, unknown)
	}
	if got := m.MarshalAppend(nil); !bytes.Equal(got, wire) {
		t.Errorf("re-encoded % x, want % x", got, wire)
	}
}

// TestMalformed: every way to break a message is an error, not a panic
// and not a silent partial result.
func TestMalformed(t *testing.T) {
	cases := []struct {
		name, wire string
		want       error
	}{
		{"truncated varint", "08 96", ErrTruncated},
		{"truncated tag", "80", ErrTruncated},
		{"varint past 64 bits", "08 ff ff ff ff ff ff ff ff ff 7f", ErrOverflow},
		{"truncated fixed32", "45 01 02", ErrTruncated},
		{"truncated fixed64", "49 01 02 03", ErrTruncated},
		{"length past the end", "72 05 61 62", ErrTruncated},
		{"huge length", "72 ff ff ff ff 0f", ErrTruncated},
		{"field number 0", "00 01", ErrFieldNum},
		{"field number too big", "80 80 80 80 10 01", ErrFieldNum},
		{"wire type 6", "0e", ErrWireType},
		{"wire type 7", "0f", ErrWireType},
		{"end group without start", "0c", ErrGroup},
		{"group never ends", "f3 01 08 01", ErrTruncated},
		{"group ends with another number", "f3 01 fc 02", ErrGroup},
		{"groups nested too deep", strings.Repeat("f3 01 ", MaxGroupDepth+1), ErrDepth},
		{"string not UTF-8", "72 02 c3 28", ErrUTF8},
		{"packed varint cut", "92 01 01 80", ErrPacked},
		{"packed fixed32 partial", "aa 01 03 01 02 03", ErrPacked},
		{"bad embedded message", "82 01 02 08 80", ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m kitchen
			err := m.Unmarshal(unhex(t, c.wire))
			if !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestAppendMessageLongLength(t *testing.T) {
	// A body of 300 bytes needs a two-byte length: the body moves up.
	m := kitchen{Inner: &inner{Note: strings.Repeat("n", 297)}}
	b := m.MarshalAppend([]byte("prefix"))
	if string(b[:6]) != "prefix" {
		t.Fatalf("prefix overwritten: %q", b[:6])
	}
	var got kitchen
	if err := got.Unmarshal(b[6:]); err != nil {
		t.Fatal(err)
	}
	if got.Inner.Note != m.Inner.Note {
		t.Errorf("note of %d bytes, want %d", len(got.Inner.Note), len(m.Inner.Note))
	}
	if want := unhex(t, "82 01 ac 02 12 a9 02"); !bytes.HasPrefix(b[6:], want) {
		t.Errorf("got % x..., want % x...", b[6:13], want)
	}
}

// full is a kitchen with every field set, used by the protoc test and as
// a fuzz seed.
var full = kitchen{I32: -150, I64: -1 << 40, U32: 4000000000, U64: 1 << 63,
	S32: -75, S64: 1 << 50, Flag: true, F32: 0xdeadbeef, F64: 1 << 60,
	SF32: -2, SF64: -3, Fl: 1.5, Db: -0.25, Text: "héllo ☺", Blob: []byte{0, 1, 255},
	Inner:  &inner{A: 1, Note: "in"},
	Inners: []*inner{{A: 2}, {Note: "three"}}, Packed: []int32{1, -1, 300},
	Unpacked: []int32{7, 8}, Zigzags: []int64{-1, 1, -1000},
	Fixeds: []uint32{1, 2}, Doubles: []float64{0.5, 2}}

func TestRoundTrip(t *testing.T) {
	b := full.MarshalAppend(nil)
	var got kitchen
	if err := got.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, full) {
		t.Errorf("got %+v, want %+v", got, full)
	}
}

// FuzzUnmarshal: no input panics; anything that decodes re-encodes to
// something that decodes to the same message.
func FuzzUnmarshal(f *testing.F) {
	f.Add(full.MarshalAppend(nil))
	f.Add([]byte{0x93, 0x02, 0x08, 0x01, 0x94, 0x02})
	f.Add([]byte{0x92, 0x01, 0x03, 0x01, 0x02, 0x03})
	f.Fuzz(func(t *testing.T, in []byte) {
		var m kitchen
		if err := m.Unmarshal(in); err != nil {
			return
		}
		var again kitchen
		if err := again.Unmarshal(m.MarshalAppend(nil)); err != nil {
			t.Fatalf("re-encoding of % x does not decode: %v", in, err)
		}
		// NaN is the one value not equal to itself.
		if !reflect.DeepEqual(m, again) && !hasNaN(m) {
			t.Fatalf("got %+v, then %+v", m, again)
		}
	})
}

func hasNaN(m kitchen) bool {
	if m.Fl != m.Fl || m.Db != m.Db {
		return true
	}
	for _, d := range m.Doubles {
		if d != d {
			return true
		}
	}
	return false
}

// FuzzReader walks arbitrary bytes with the Reader and every getter.
func FuzzReader(f *testing.F) {
	f.Add(full.MarshalAppend(nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(in)
		for r.Next() {
			switch r.Type() {
			case Varint:
				_ = Varints(&r, []int64(nil))
				_ = r.Sint64()
			case I32:
				_ = r.Float()
			case I64:
				_ = r.Double()
			case Len:
				_ = Fixed32s(&r, []uint32(nil))
				_ = Doubles(&r, nil)
				_ = Sints(&r, []int32(nil))
				var in inner
				r.Merge(&in)
			}
		}
	})
}
