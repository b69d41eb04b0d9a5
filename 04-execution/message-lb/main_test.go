package main

import (
	"context"
	"testing"
	"time"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/timeline"
)

// TestBatchSpreadsOverWorkers checks the lesson: one connection's
// pipelined heavy requests run on every worker, where multi-reader runs
// them all on one thread, and the answers still come back in order (the
// client reads them with a pipelined reader that checks each status).
func TestBatchSpreadsOverWorkers(t *testing.T) {
	cfg := config{Workers: 2, Skew: servers.SkewConfig{
		Prime: 10000019, Heavy: 4, Light: 2, Gap: 2 * time.Millisecond}}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i, w := range res.Workers {
		total += w.Heavy
		if w.Heavy == 0 {
			t.Errorf("worker %d ran no heavy request, want the batch spread", i)
		}
		if w.CPU <= 0 {
			t.Errorf("worker %d: got CPU %v", i, w.CPU)
		}
	}
	if total != cfg.Skew.Heavy {
		t.Errorf("got %d heavy requests run, want %d", total, cfg.Skew.Heavy)
	}
	if res.ReaderHeavy != cfg.Skew.Heavy {
		t.Errorf("multi-reader: got at most %d heavy requests on one thread, want all %d",
			res.ReaderHeavy, cfg.Skew.Heavy)
	}
	if res.Light.N == 0 {
		t.Error("got no light request during the batch")
	}
}
