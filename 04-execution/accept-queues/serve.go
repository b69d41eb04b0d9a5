package main

import (
	"context"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/timeline"

	"golang.org/x/sys/unix"
)

// serve listens with cfg.Backlog and accepts one connection every two
// seconds, printing the accept queue, so that a reader can fill it with
// curl and watch it with ss.
func (cfg *config) serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	ln, err := rawnet.Listen(addr, rawnet.ListenConfig{Backlog: cfg.Backlog})
	if err != nil {
		return err
	}
	defer ln.Close()
	loop, err := rawnet.NewLoop(rawnet.LoopConfig{Name: "reader",
		Handler: servers.App("accept-queues")})
	if err != nil {
		return err
	}
	loop.Start()
	defer loop.Close()
	tl.Note("server", "backlog %d on %s; accepting one connection every 2s", cfg.Backlog, ln.Addr())
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	last := -1
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		q, err := acceptQueue(ln.Addr())
		if err != nil {
			return err
		}
		o, d, _ := overflow()
		if q != last || q > 0 {
			tl.Note("kernel", "accept queue %d of backlog %d; ListenOverflows %d ListenDrops %d (namespace)",
				q, cfg.Backlog, o, d)
			last = q
		}
		fd, _, err := unix.Accept4(ln.FD(), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err == nil {
			tl.Note("acceptor", "accept4 = fd %d from %s", fd, rawnet.Peer(fd))
			loop.Adopt(fd)
		}
	}
}
