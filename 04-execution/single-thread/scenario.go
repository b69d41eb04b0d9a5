package main

import (
	"context"
	"fmt"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

// result is what the scenario measured.
type result struct {
	Heavy  time.Duration  // the heavy request, as its client saw it
	Before timing.Summary // light requests before it
	During timing.Summary // light requests sent while it ran
	Thread kernel.Usage   // the server thread's CPU and switches
	Stats  rawnet.Stats
}

// run is the scenario as the demo harness calls it.
func (cfg *config) run(ctx context.Context, tl *timeline.Timeline) error {
	_, err := scenario(ctx, tl, *cfg)
	return err
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	s, err := servers.StartSingleThread("127.0.0.1:0", servers.App("single-thread"))
	if err != nil {
		return res, err
	}
	defer s.Close()
	tl.Note("server", "one thread (tid %d) listens, accepts and reads on %s",
		s.Loop.TID(), s.Addr())

	probe, err := servers.StartProbe(ctx, s.Addr(), cfg.Light, cfg.Gap)
	if err != nil {
		return res, err
	}
	tl.Note("light", "%d clients send GET / every %v", cfg.Light, cfg.Gap)
	heavy, err := rawnet.Dial(ctx, s.Addr())
	if err != nil {
		probe.Stop()
		return res, err
	}
	defer heavy.Close()
	if err := timing.Sleep(ctx, 150*time.Millisecond); err != nil {
		probe.Stop()
		return res, err
	}
	start := time.Now()
	tl.Send("heavy", "server", "GET /prime?n=%d", cfg.Prime)
	r, err := heavy.Get(ctx, fmt.Sprintf("/prime?n=%d", cfg.Prime))
	end := time.Now()
	res.Heavy = end.Sub(start)
	if err == nil {
		tl.Send("server", "heavy", "%d %s after %s", r.Status, trim(r.Body),
			timeline.Ms(res.Heavy))
		err = timing.Sleep(ctx, 50*time.Millisecond)
	}
	samples, perr := probe.Stop()
	if err != nil || perr != nil {
		return res, fmt.Errorf("heavy: %v, light: %v", err, perr)
	}
	var all []servers.Sample
	for _, s := range samples {
		all = append(all, s...)
	}
	res.Before = servers.Between(all, time.Time{}, start)
	res.During = servers.Between(all, start, end)
	if res.Thread, err = s.Loop.Usage(); err != nil {
		return res, err
	}
	res.Stats = s.Loop.Stats()

	tl.Printf("")
	tl.Printf("light GET /, before the heavy request: %s", res.Before)
	tl.Printf("light GET /, sent while it ran:        %s", res.During)
	tl.Printf("the heavy request took %s; the one thread could not answer anyone else.",
		timeline.Ms(res.Heavy))
	tl.Printf("thread %d: %s CPU, %d voluntary and %d involuntary context switches,",
		s.Loop.TID(), timeline.Ms(res.Thread.CPU()), res.Thread.Voluntary,
		res.Thread.Involuntary)
	tl.Printf("%d epoll_wait wake-ups for %d connections and %d requests.",
		res.Stats.Wakeups, res.Stats.Accepted, res.Stats.Requests)
	return res, nil
}

func trim(b []byte) string {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return string(b[:n-1])
	}
	return string(b)
}
