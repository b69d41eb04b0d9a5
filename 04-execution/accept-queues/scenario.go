package main

import (
	"context"
	"fmt"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/timeline"

	"golang.org/x/sys/unix"
)

type result struct {
	Main   backlogRun   // the story, with cfg.Backlog
	Drain  int          // accept queue once the acceptor ran
	Others []backlogRun // the backlog table
	SYN    *synQueue    // the SYN queue part; nil without root
}

// run is the scenario as the demo harness calls it.
func (cfg *config) run(ctx context.Context, tl *timeline.Timeline) error {
	_, err := scenario(ctx, tl, *cfg)
	return err
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	ln, err := rawnet.Listen("127.0.0.1:0", rawnet.ListenConfig{Backlog: cfg.Backlog})
	if err != nil {
		return res, err
	}
	defer ln.Close()
	tl.Note("server", "listen(fd %d, backlog %d) on %s; nobody calls accept yet",
		ln.FD(), ln.Backlog(), ln.Addr())
	run, clients, err := fill(tl, ln, cfg.Extra, cfg.Wait)
	defer closeAll(clients)
	if err != nil {
		return res, err
	}
	tl.Note("kernel", "TcpExt: ListenOverflows +%d, ListenDrops +%d: SYNs dropped, queue full",
		run.Overflows, run.Drops)

	// The acceptor arrives and drains the queue.
	var accepted []int
	defer func() {
		for _, fd := range accepted {
			unix.Close(fd)
		}
	}()
	for {
		fd, _, err := unix.Accept4(ln.FD(), unix.SOCK_CLOEXEC)
		if err != nil {
			break // EAGAIN: the queue is empty
		}
		accepted = append(accepted, fd)
	}
	if res.Drain, err = acceptQueue(ln.Addr()); err != nil {
		return res, err
	}
	tl.Note("acceptor", "accept4 took %d connections; accept queue %d", len(accepted),
		res.Drain)
	for _, c := range run.Stalled {
		if err := rawnet.WaitConnected(c.FD, 5*time.Second); err != nil {
			return res, fmt.Errorf("stalled client fd %d: %w", c.FD, err)
		}
		d := time.Since(c.Start)
		if err := c.info(); err != nil {
			return res, err
		}
		run.Late = append(run.Late, d)
		run.LateRetran = append(run.LateRetran, c.Retrans)
		tl.Note("client", "fd %d %s after %s: its SYN was retransmitted %d time(s)",
			c.FD, c.State, timeline.Ms(d), c.Retrans)
		// Accept it too, as a serving acceptor would.
		if err := rawnet.WaitFD(ln.FD(), unix.POLLIN, 5*time.Second); err != nil {
			return res, err
		}
		if fd, _, err := unix.Accept4(ln.FD(), unix.SOCK_CLOEXEC); err == nil {
			accepted = append(accepted, fd)
		}
	}
	res.Main = run

	for _, b := range cfg.Table {
		r, err := quickRun(b, cfg.Extra)
		if err != nil {
			return res, err
		}
		res.Others = append(res.Others, r)
	}
	if res.SYN, err = synScenario(ctx, tl, cfg); err != nil {
		return res, err
	}
	report(tl, cfg, res)
	return res, nil
}

// quickRun fills a listener with backlog b, without waiting for the
// stalled clients' retransmissions.
func quickRun(b, extra int) (backlogRun, error) {
	ln, err := rawnet.Listen("127.0.0.1:0", rawnet.ListenConfig{Backlog: b})
	if err != nil {
		return backlogRun{}, err
	}
	defer ln.Close()
	run, clients, err := fill(timeline.Quiet(), ln, extra, 50*time.Millisecond)
	closeAll(clients)
	return run, err
}

func report(tl *timeline.Timeline, cfg config, res result) {
	tl.Printf("")
	tl.Printf("%-8s %14s %18s %10s %20s", "backlog", "accept queue", "connected at once",
		"stalled", "ListenOverflows +")
	for _, r := range append([]backlogRun{res.Main}, res.Others...) {
		tl.Printf("%-8d %14d %18d %10d %20d", r.Backlog, r.Queued, r.AtOnce,
			len(r.Stalled), r.Overflows)
	}
	tl.Printf("a listener holds backlog+1 finished handshakes; the next SYNs are dropped")
	tl.Printf("and the clients wait for their SYN retransmission: connected after %v.",
		msList(res.Main.Late))
	if s := res.SYN; s != nil {
		s.report(tl)
	}
}

func msList(ds []time.Duration) []string {
	var out []string
	for _, d := range ds {
		out = append(out, timeline.Ms(d))
	}
	return out
}
