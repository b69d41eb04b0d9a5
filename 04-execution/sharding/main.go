// Sharding: N listening sockets on one port with SO_REUSEPORT, each with
// its own accept queue and its own thread that accepts and reads, as NGINX
// with reuseport and Envoy do. The kernel picks a socket for each new
// connection by hashing its addresses and ports.
//
//	go run ./04-execution/sharding
//
// Look at the connections each shard got (each answer names its shard)
// and at the N LISTEN lines for one port in /proc/net/tcp. Then the known
// caveat: a shard stops accepting, new connections hashed to it wait in
// its accept queue, and when its socket closes the kernel resets them,
// though their handshakes had succeeded. Keep N shards up for curl, ss or
// wrk:
//
//	go run ./04-execution/sharding -serve 127.0.0.1:8080 -shards 4
//	ss -ltn 'sport = :8080'
//	curl http://127.0.0.1:8080/     # "hello from shard 2"
package main

import (
	"context"
	"runtime"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{Shards: max(runtime.NumCPU(), 2), Conns: 100, Late: 40}
	p := demo.New("sharding",
		"Sharding: N listeners on one port with SO_REUSEPORT, a thread each.",
		demo.Modes{
			Scenario: cfg.run,
			Serve:    cfg.serve,
		})
	p.Flags.IntVar(&cfg.Shards, "shards", cfg.Shards,
		"listening sockets (and threads); default the number of CPUs, at least 2")
	p.Flags.IntVar(&cfg.Conns, "conns", cfg.Conns, "connections in the scenario")
	p.Main()
}

type config struct {
	Shards int
	Conns  int // connections spread over the shards
	Late   int // connections made while shard 0 does not accept
}

// serve keeps the shards up until ctx is done.
func (cfg *config) serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	s, err := servers.StartSharding(addr, cfg.Shards, servers.ShardApp)
	if err != nil {
		return err
	}
	for _, sh := range s.Shards {
		ino, _ := rawnetInode(sh)
		tl.Note(sh.Loop.Name(), "fd %d (socket inode %d) on %s, thread %d",
			sh.Listener.FD(), ino, s.Addr(), sh.Loop.TID())
	}
	return servers.Serve(ctx, s, tl)
}
