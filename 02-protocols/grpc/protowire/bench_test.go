package protowire

import (
	"encoding/json"
	"testing"
)

// BenchmarkMarshal and BenchmarkUnmarshal measure the kitchen-sink
// message (every scalar type, nested and repeated fields) beside
// encoding/json on the same Go struct in the same run.
func BenchmarkMarshal(b *testing.B) {
	b.Run("protowire", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = full.MarshalAppend(buf[:0])
		}
		b.ReportMetric(float64(len(buf)), "bytes")
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			out, _ = json.Marshal(&full)
		}
		b.ReportMetric(float64(len(out)), "bytes")
	})
}

func BenchmarkUnmarshal(b *testing.B) {
	wire := full.MarshalAppend(nil)
	js, _ := json.Marshal(&full)
	b.Run("protowire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m kitchen
			if err := m.Unmarshal(wire); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m kitchen
			if err := json.Unmarshal(js, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
