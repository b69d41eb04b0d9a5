package main

import (
	"context"
	"testing"
	"time"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"
)

// TestCompareLoadsEveryServer runs the comparison briefly (without wrk,
// which servers' tests drive) and checks that every architecture answered
// every request; which one is fastest depends on the machine.
func TestCompareLoadsEveryServer(t *testing.T) {
	before, _ := kernel.FDBaseline()
	cfg := config{Conns: 8, Duration: 100 * time.Millisecond, Threads: 2}
	rows, err := compare(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(servers.Kinds(2)) {
		t.Fatalf("got %d rows, want %d", len(rows), len(servers.Kinds(2)))
	}
	for _, r := range rows {
		if r.Load.Requests < cfg.Conns || r.Load.Errors != 0 || r.Load.Throughput <= 0 ||
			r.Load.Latency.P99 <= 0 {
			t.Errorf("%s: got %d requests, %d errors, %.0f req/s", r.Name,
				r.Load.Requests, r.Load.Errors, r.Load.Throughput)
		}
	}
	if after, _ := kernel.OpenFDs(); after != before {
		t.Errorf("got %d descriptors open after, want %d", after, before)
	}
}
