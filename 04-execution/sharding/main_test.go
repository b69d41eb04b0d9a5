package main

import (
	"context"
	"testing"

	"backend-protocols/internal/timeline"
)

// TestShards checks that every shard gets connections from the kernel's
// hash, and the caveat: closing a shard resets exactly the connections
// queued on it, while the others are answered.
func TestShards(t *testing.T) {
	cfg := config{Shards: 4, Conns: 60, Late: 40}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Listeners != cfg.Shards {
		t.Errorf("got %d LISTEN sockets on the port, want %d", res.Listeners, cfg.Shards)
	}
	sum := 0
	for i, n := range res.PerShard {
		sum += n
		if n == 0 {
			t.Errorf("shard %d answered no connection of %d, want each to get some",
				i, cfg.Conns)
		}
		if int64(n) != res.Accepted[i] {
			t.Errorf("shard %d: answered %d, its loop accepted %d", i, n, res.Accepted[i])
		}
	}
	if sum != cfg.Conns {
		t.Errorf("got %d answers, want %d", sum, cfg.Conns)
	}
	c := res.Closed
	if c.Queued == 0 {
		t.Fatalf("got no connection queued on the paused shard of %d late ones", cfg.Late)
	}
	if c.Reset != c.Queued || c.Reset+c.Answered != cfg.Late {
		t.Errorf("got %d queued, %d reset and %d answered of %d late clients, want resets = queued",
			c.Queued, c.Reset, c.Answered, cfg.Late)
	}
	if c.OutRsts < int64(c.Reset) {
		t.Errorf("got Tcp:OutRsts up by %d, want at least the %d resets", c.OutRsts, c.Reset)
	}
	m := res.Migrate
	if !m.Ran {
		t.Skip("tcp_migrate_req part needs root (a network namespace)")
	}
	if m.Queued == 0 || m.Reset != 0 || m.Answered != cfg.Late {
		t.Errorf("tcp_migrate_req=1: got %d queued, %d reset, %d answered of %d, want none reset",
			m.Queued, m.Reset, m.Answered, cfg.Late)
	}
	if m.Migrated < int64(m.Queued) {
		t.Errorf("tcp_migrate_req=1: got TCPMigrateReqSuccess up by %d, want at least %d",
			m.Migrated, m.Queued)
	}
}
