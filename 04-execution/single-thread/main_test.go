package main

import (
	"context"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

// TestHeavyRequestStallsEveryone checks the lesson: while the only thread
// runs the heavy request, the light requests sent meanwhile wait about as
// long as it takes, though they wait next to nothing otherwise.
func TestHeavyRequestStallsEveryone(t *testing.T) {
	cfg := config{Prime: 20000003, Light: 3, Gap: 2 * time.Millisecond}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.During.N == 0 {
		t.Fatalf("got no light request during the heavy one (%v)", res.Heavy)
	}
	if res.During.Max < res.Heavy/2 {
		t.Errorf("got light requests waiting at most %v during a %v heavy request, want at least half of it",
			res.During.Max, res.Heavy)
	}
	if res.Before.P50 > res.Heavy/4 {
		t.Errorf("got light p50 %v before the heavy request (heavy %v), want far less",
			res.Before.P50, res.Heavy)
	}
	if res.Stats.Accepted != int64(cfg.Light+1) || res.Thread.CPU() <= 0 {
		t.Errorf("got %d connections and %v CPU on the thread, want %d and some",
			res.Stats.Accepted, res.Thread.CPU(), cfg.Light+1)
	}
}
