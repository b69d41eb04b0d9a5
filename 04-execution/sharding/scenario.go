package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"

	"golang.org/x/sys/unix"
)

type result struct {
	PerShard  []int // connections each shard answered, from the answers
	Accepted  []int64
	Listeners int // LISTEN lines for the port in /proc/net/tcp
	// The caveat, in this namespace and then in a private one with
	// net.ipv4.tcp_migrate_req=1 (Migrate.Ran is false without root).
	Closed, Migrate late
}

// late is what became of the connections made while shard 0 did not
// accept, once its socket closed.
type late struct {
	Ran      bool
	Queued   int   // in shard 0's accept queue when it closed
	Reset    int   // clients that got ECONNRESET
	Answered int   // clients another shard answered
	OutRsts  int64 // rise of Tcp:OutRsts over the close (whole namespace)
	Migrated int64 // rise of TcpExt:TCPMigrateReqSuccess
}

func rawnetInode(sh *servers.Shard) (uint64, error) {
	return kernel.SocketInode(sh.Listener.FD())
}

// run is the scenario as the demo harness calls it.
func (cfg *config) run(ctx context.Context, tl *timeline.Timeline) error {
	_, err := scenario(ctx, tl, *cfg)
	return err
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	res := result{PerShard: make([]int, cfg.Shards)}
	s, err := servers.StartSharding("127.0.0.1:0", cfg.Shards, servers.ShardApp)
	if err != nil {
		return res, err
	}
	defer s.Close()
	port := s.Shards[0].Listener.Addr().Port()
	inodes := make([]uint64, cfg.Shards)
	for i, sh := range s.Shards {
		if inodes[i], err = rawnetInode(sh); err != nil {
			return res, err
		}
		tl.Note(sh.Loop.Name(), "socket fd %d, inode %d, SO_REUSEPORT on %s, thread %d",
			sh.Listener.FD(), inodes[i], s.Addr(), sh.Loop.TID())
	}
	if _, res.Listeners, err = kernel.AcceptQueue(s.Shards[0].Listener.Addr(), inodes[0]); err != nil {
		return res, err
	}
	tl.Note("kernel", "/proc/net/tcp: %d LISTEN sockets on port %d", res.Listeners, port)

	// Spread: each connection asks once and says which shard answered.
	for range cfg.Conns {
		c, err := rawnet.Dial(ctx, s.Addr())
		if err != nil {
			return res, err
		}
		r, err := c.Get(ctx, "/")
		c.Close()
		if err != nil {
			return res, err
		}
		var shard int
		if _, err := fmt.Sscanf(string(r.Body), "hello from shard %d", &shard); err != nil ||
			shard < 0 || shard >= cfg.Shards {
			return res, fmt.Errorf("got answer %q", r.Body)
		}
		res.PerShard[shard]++
	}
	for _, sh := range s.Shards {
		res.Accepted = append(res.Accepted, sh.Loop.Stats().Accepted)
	}
	tl.Note("clients", "%d connections, answered per shard: %v", cfg.Conns, res.PerShard)

	if res.Closed, err = caveat(ctx, tl, cfg, s, inodes[0]); err != nil {
		return res, err
	}
	if res.Migrate, err = migrate(ctx, tl, cfg); err != nil {
		return res, err
	}
	tl.Printf("")
	tl.Printf("%d connections hashed over %d shards: %v (each shard's own count: %v)",
		cfg.Conns, cfg.Shards, res.PerShard, res.Accepted)
	c := res.Closed
	tl.Printf("shard 0 closed with %d connections in its accept queue: %d clients reset,",
		c.Queued, c.Reset)
	tl.Printf("  %d late clients answered by the other shards; Tcp:OutRsts rose by %d.",
		c.Answered, c.OutRsts)
	if m := res.Migrate; m.Ran {
		tl.Printf("with net.ipv4.tcp_migrate_req=1 (private namespace): %d queued, %d reset,",
			m.Queued, m.Reset)
		tl.Printf("  %d answered; TcpExt:TCPMigrateReqSuccess rose by %d.", m.Answered, m.Migrated)
	}
	return res, nil
}

// migrate repeats the caveat in a network namespace of its own with
// net.ipv4.tcp_migrate_req=1 (Linux 5.14), which moves the connections
// queued on a closing SO_REUSEPORT socket to another one of its group.
func migrate(ctx context.Context, tl *timeline.Timeline, cfg config) (late, error) {
	var res late
	err := rawnet.InNewNetns(func() error {
		if err := rawnet.SetSysctl("net.ipv4.tcp_migrate_req", "1"); err != nil {
			return err
		}
		tl.Printf("")
		tl.Note("kernel", "a private network namespace with net.ipv4.tcp_migrate_req=1")
		s, err := servers.StartSharding("127.0.0.1:0", cfg.Shards, servers.ShardApp)
		if err != nil {
			return err
		}
		defer s.Close()
		ino, err := rawnetInode(s.Shards[0])
		if err != nil {
			return err
		}
		res, err = caveat(ctx, tl, cfg, s, ino)
		return err
	})
	if errors.Is(err, rawnet.ErrNoNetns) {
		tl.Note("kernel", "skipping tcp_migrate_req: %v", err)
		return res, nil
	}
	return res, err
}

// caveat pauses shard 0, connects cfg.Late clients, waits until each is
// either answered by another shard or queued on shard 0, then closes
// shard 0's socket and counts the resets. It reads the kernel's tables of
// the calling thread's namespace.
func caveat(ctx context.Context, tl *timeline.Timeline, cfg config,
	s *servers.Sharding, ino uint64) (late, error) {
	res := late{Ran: true}
	sh := s.Shards[0]
	if err := sh.Pause(); err != nil {
		return res, err
	}
	tl.Note(sh.Loop.Name(), "stops accepting; its socket stays in the group")
	var (
		mu       sync.Mutex
		answered int
		reset    int
		others   []error
		wg       sync.WaitGroup
	)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for range cfg.Late {
		c, err := rawnet.Dial(cctx, s.Addr())
		if err != nil {
			return res, err
		}
		wg.Go(func() {
			defer c.Close()
			_, err := c.Get(cctx, "/")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				answered++
			case errors.Is(err, unix.ECONNRESET):
				reset++
			default:
				others = append(others, err)
			}
		})
	}
	// Every late client is either answered or waiting on shard 0.
	for {
		q, _, err := kernel.AcceptQueue(sh.Listener.Addr(), ino)
		if err != nil {
			return res, err
		}
		mu.Lock()
		a := answered
		mu.Unlock()
		if a+q == cfg.Late {
			res.Queued = q
			break
		}
		if err := timing.Sleep(cctx, time.Millisecond); err != nil {
			return res, fmt.Errorf("waiting for %d late clients: %d answered, %d queued: %w",
				cfg.Late, a, q, err)
		}
	}
	tl.Note("kernel", "%d late connections wait in shard 0's accept queue, handshake done",
		res.Queued)
	before, err := kernel.Netstat()
	if err != nil {
		return res, err
	}
	tl.Note(sh.Loop.Name(), "close(%d)", sh.Listener.FD())
	if err := sh.Close(); err != nil {
		return res, err
	}
	wg.Wait()
	after, err := kernel.Netstat()
	if err != nil {
		return res, err
	}
	res.OutRsts = after["Tcp:OutRsts"] - before["Tcp:OutRsts"]
	res.Migrated = after["TcpExt:TCPMigrateReqSuccess"] -
		before["TcpExt:TCPMigrateReqSuccess"]
	res.Reset, res.Answered = reset, answered
	if len(others) > 0 {
		var msgs []string
		for _, e := range others {
			msgs = append(msgs, e.Error())
		}
		return res, fmt.Errorf("late clients failed otherwise: %s", strings.Join(msgs, "; "))
	}
	tl.Note("clients", "%d reset (ECONNRESET), %d answered by other shards", reset, answered)
	return res, nil
}
