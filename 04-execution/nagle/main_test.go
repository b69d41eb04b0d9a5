package main

import (
	"context"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

// TestNagleStall checks the 40 ms stall with Nagle on and write-write-read,
// and that each fix removes it. The stall is a kernel timer (the delayed
// ACK, 40 ms at least on Linux), so it cannot be shorter; load can only
// make the fast rows slower, hence the generous bound on them.
func TestNagleStall(t *testing.T) {
	cfg := config{Exchanges: 8, Header: 100, Body: 100}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	stalled := res.Rows[0]
	if stalled.Latency.P50 < 30*time.Millisecond {
		t.Errorf("%s: got p50 %v, want about 40ms", stalled.Style, stalled.Latency.P50)
	}
	for _, r := range res.Rows[1:] {
		if r.Latency.P50 > 10*time.Millisecond {
			t.Errorf("%s: got p50 %v, want well under a millisecond", r.Style, r.Latency.P50)
		}
	}
	// Nagle holds the body back as a segment of its own; one write or a
	// cork sends one. Without Nagle two writes are two segments, unless
	// the kernel's autocorking merged them while the first was queued.
	wantSegs := []float64{2, 0, 1, 1}
	for i, r := range res.Rows {
		if want := wantSegs[i]; want > 0 && r.Segments != want ||
			want == 0 && (r.Segments < 1 || r.Segments > 2) {
			t.Errorf("%s: got %.1f data segments per exchange, want %v", r.Style,
				r.Segments, map[bool]any{true: want, false: "1 to 2"}[want > 0])
		}
	}
	if res.ATO <= 0 {
		t.Errorf("got the server's delayed-ACK timeout %v, want it reported", res.ATO)
	}
}
