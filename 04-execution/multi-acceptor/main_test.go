package main

import (
	"context"
	"testing"

	"backend-protocols/internal/timeline"
)

// TestThunderingHerd checks the lesson in the kernel's own counters: with
// plain epoll every thread wakes for every connection, with
// EPOLLEXCLUSIVE about one does.
func TestThunderingHerd(t *testing.T) {
	cfg := config{Threads: 4, Conns: 20}
	runs, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	plain, excl := runs[0], runs[1]
	for _, r := range runs {
		if got := r.Totals().Accepted; got != int64(cfg.Conns) {
			t.Errorf("exclusive=%v: got %d accepted, want %d", r.Exclusive, got, cfg.Conns)
		}
	}
	for _, th := range plain.Threads {
		if th.Switches < int64(cfg.Conns)/2 {
			t.Errorf("plain epoll: thread %d woke %d times for %d connections, want about every time",
				th.TID, th.Switches, cfg.Conns)
		}
	}
	idle := int64(0) // wake-ups of exclusive threads that accepted nothing
	for _, th := range excl.Threads {
		if th.Accepted == 0 {
			idle += th.Switches
		}
	}
	if idle > int64(cfg.Conns)/2 {
		t.Errorf("EPOLLEXCLUSIVE: threads that accepted nothing woke %d times for %d connections",
			idle, cfg.Conns)
	}
	if p, e := plain.SwitchesPerConn(), excl.SwitchesPerConn(); p < e+1.5 {
		t.Errorf("got %.1f wake-ups per connection with plain epoll and %.1f with EPOLLEXCLUSIVE, want about %d and 1",
			p, e, cfg.Threads)
	}
}
