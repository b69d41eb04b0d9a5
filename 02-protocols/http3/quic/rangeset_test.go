package quic

import (
	"math/rand/v2"
	"testing"
)

// TestRangeSetModel checks the set against a map under random operations.
func TestRangeSetModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 2000; iter++ {
		var s rangeSet
		model := map[uint64]bool{}
		for op := 0; op < 40; op++ {
			a := uint64(rng.IntN(100))
			b := a + uint64(rng.IntN(10))
			switch rng.IntN(3) {
			case 0:
				s.add(a, b)
				for v := a; v < b; v++ {
					model[v] = true
				}
			case 1:
				s.sub(a, b)
				for v := a; v < b; v++ {
					delete(model, v)
				}
			case 2:
				s.removeBelow(a)
				for v := range model {
					if v < a {
						delete(model, v)
					}
				}
			}
			for v := uint64(0); v < 120; v++ {
				if s.contains(v) != model[v] {
					t.Fatalf("iter %d op %d: v=%d contains=%v model=%v set=%v", iter, op, v, s.contains(v), model[v], s)
				}
			}
			for i := 1; i < len(s); i++ {
				if s[i-1].end >= s[i].start || s[i].start >= s[i].end {
					t.Fatalf("not canonical: %v", s)
				}
			}
		}
	}
}
