package kv

import (
	"strings"
	"testing"
)

// benchMessages is a small mixed workload: a request, a write and a
// reply with a 100-byte value.
var benchMessages = []Message{
	{Version: 1, Type: Get, ID: 1, Key: "user:42"},
	{Version: 1, Type: Set, ID: 2, Key: "user:42", Value: []byte(strings.Repeat("a", 100))},
	{Version: 1, Type: Get.Reply(), ID: 1, Value: []byte(strings.Repeat("a", 100))},
}

// BenchmarkEncode compares the binary frame with the JSON line for the
// same messages, in one run: go test -bench . ./02-protocols/protocol-design/kv
func BenchmarkEncode(b *testing.B) {
	for _, enc := range []struct {
		name string
		f    func(*Message, []byte) ([]byte, error)
	}{{"binary", (*Message).AppendBinary}, {"json", (*Message).AppendJSON}} {
		b.Run(enc.name, func(b *testing.B) {
			buf := make([]byte, 0, 512)
			n := 0
			for b.Loop() {
				for i := range benchMessages {
					out, err := enc.f(&benchMessages[i], buf[:0])
					if err != nil {
						b.Fatal(err)
					}
					n += len(out)
				}
			}
			b.ReportMetric(float64(n)/float64(b.N), "wire-bytes/op")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	var bins, lines [][]byte
	for i := range benchMessages {
		bin, _ := benchMessages[i].MarshalBinary()
		line, _ := benchMessages[i].AppendJSON(nil)
		bins, lines = append(bins, bin), append(lines, line)
	}
	b.Run("binary", func(b *testing.B) {
		for b.Loop() {
			for _, f := range bins {
				if _, _, err := Decode(f); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			for _, l := range lines {
				if _, err := DecodeJSON(l); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
