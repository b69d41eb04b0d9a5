package main

import (
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	b := &budget{Ratio: 0.2, Min: 3, Window: 10 * time.Second,
		Now: func() time.Time { return now }}
	// Upstream down: 100 requests each want two retries.
	retries := 0
	for range 100 {
		b.Request()
		for range 2 {
			if b.Withdraw() {
				retries++
			}
		}
	}
	if want := 3 + 20; retries != want {
		t.Errorf("got %d retries for 100 requests, want Min + 20%% = %d", retries, want)
	}
	// Outside the window the budget is whole again.
	now = now.Add(11 * time.Second)
	b.Request()
	got := 0
	for range 10 {
		if b.Withdraw() {
			got++
		}
	}
	if got != 3 {
		t.Errorf("after the window: got %d retries for 1 request, want 3", got)
	}
	// Half a window on, the old requests still count but so do the retries.
	now = now.Add(5 * time.Second)
	for range 10 {
		b.Request()
	}
	if !b.Withdraw() || !b.Withdraw() || b.Withdraw() {
		t.Errorf("11 requests and 3 retries in the window: want exactly 2 more " +
			"(3 + 0.2 x 11 = 5.2)")
	}
}
