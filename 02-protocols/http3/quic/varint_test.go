package quic

import "testing"

// TestVarintRFC9000 decodes the examples of RFC 9000, Appendix A.1 and
// re-encodes them in the shortest form.
func TestVarintRFC9000(t *testing.T) {
	cases := []struct {
		in    string
		v     uint64
		short string
	}{
		{"c2197c5eff14e88c", 151288809941952652, "c2197c5eff14e88c"},
		{"9d7f3e7d", 494878333, "9d7f3e7d"},
		{"7bbd", 15293, "7bbd"},
		{"25", 37, "25"},
		{"4025", 37, "25"},
	}
	for _, tc := range cases {
		b := unhex(t, tc.in)
		v, n := ConsumeVarint(b)
		if v != tc.v || n != len(b) {
			t.Errorf("%s: got %d (%d bytes), want %d (%d)", tc.in, v, n,
				tc.v, len(b))
		}
		if got := AppendVarint(nil, tc.v); string(got) != string(unhex(t, tc.short)) {
			t.Errorf("encode %d: got %x, want %s", tc.v, got, tc.short)
		}
	}
	for _, v := range []uint64{0, 63, 64, 16383, 16384, 1<<30 - 1, 1 << 30,
		MaxVarint} {
		b := AppendVarint(nil, v)
		if len(b) != VarintLen(v) {
			t.Errorf("%d: got %d bytes, want %d", v, len(b), VarintLen(v))
		}
		if got, n := ConsumeVarint(b); got != v || n != len(b) {
			t.Errorf("%d: round trip gave %d", v, got)
		}
	}
	if _, n := ConsumeVarint([]byte{0x80, 1}); n >= 0 {
		t.Errorf("truncated varint: got n=%d, want < 0", n)
	}
}

func FuzzConsumeVarint(f *testing.F) {
	f.Add([]byte{0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c})
	f.Add([]byte{0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n := ConsumeVarint(b)
		if n < 0 {
			return
		}
		if n > len(b) || v > MaxVarint {
			t.Fatalf("got v=%d n=%d from %d bytes", v, n, len(b))
		}
		if w := VarintLen(v); w > n {
			t.Fatalf("value %d needs %d bytes, read from %d", v, w, n)
		}
	})
}
