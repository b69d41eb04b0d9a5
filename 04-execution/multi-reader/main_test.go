package main

import (
	"context"
	"testing"
	"time"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/timeline"
)

// TestBusyConnectionLoadsOneReader checks the imbalance: the busy
// connection's requests all run on its own reader, which burns the CPU,
// and only the light clients sharing that reader wait for them.
func TestBusyConnectionLoadsOneReader(t *testing.T) {
	cfg := config{Readers: 2, Skew: servers.SkewConfig{
		Prime: 10000019, Heavy: 4, Light: 4, Gap: 2 * time.Millisecond}}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	busy, idle := res.Readers[0], res.Readers[1]
	if busy.Heavy != cfg.Skew.Heavy || idle.Heavy != 0 {
		t.Errorf("got heavy requests %d on reader 0 and %d on reader 1, want %d and 0",
			busy.Heavy, idle.Heavy, cfg.Skew.Heavy)
	}
	if busy.Conns != 3 || idle.Conns != 2 {
		t.Errorf("got %d and %d connections per reader, want 3 and 2 (round robin)",
			busy.Conns, idle.Conns)
	}
	if busy.CPU < 3*idle.CPU {
		t.Errorf("got CPU %v on reader 0 and %v on reader 1, want reader 0 far busier",
			busy.CPU, idle.CPU)
	}
	if busy.Light.N == 0 || busy.Light.Max < res.Batch/2 {
		t.Errorf("light clients on reader 0 waited at most %v (%d requests) during a %v batch, want most of it",
			busy.Light.Max, busy.Light.N, res.Batch)
	}
	if idle.Light.N == 0 || idle.Light.P50 > res.Batch/4 {
		t.Errorf("light clients on reader 1: p50 %v (%d requests) during a %v batch, want far less",
			idle.Light.P50, idle.Light.N, res.Batch)
	}
}
