package main

import (
	"context"
	"fmt"
	"time"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

// reader is what one reader thread did.
type reader struct {
	TID          int
	Conns        int64
	Heavy        int           // heavy requests it ran
	CPU          time.Duration // getrusage(RUSAGE_THREAD)
	LightClients []int         // the light clients it served
	Light        timing.Summary
}

type result struct {
	Batch   time.Duration // the busy connection's pipelined batch
	Readers []reader
}

// run is the scenario as the demo harness calls it.
func (cfg *config) run(ctx context.Context, tl *timeline.Timeline) error {
	_, err := scenario(ctx, tl, *cfg)
	return err
}

// scenario runs the skewed load on multi-reader and reads each reader's
// share from the kernel.
func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	app, heavy := servers.CountPrimes("multi-reader")
	s, err := servers.StartMultiReader("127.0.0.1:0", cfg.Readers, app)
	if err != nil {
		return res, err
	}
	defer s.Close()
	for _, r := range s.Readers {
		tl.Note("server", "%s is thread %d", r.Name(), r.TID())
	}
	tl.Note("busy", "connects first: round robin puts it on reader 0")
	tl.Note("light", "%d clients connect next and send GET / every %v",
		cfg.Skew.Light, cfg.Skew.Gap)
	sk, err := servers.RunSkewed(ctx, s.Addr(), cfg.Skew, tl)
	if err != nil {
		return res, err
	}
	res.Batch = sk.Batch()
	for i, r := range s.Readers {
		u, err := r.Usage()
		if err != nil {
			return res, err
		}
		rd := reader{TID: r.TID(), Conns: s.Handed[i].Load(),
			Heavy: heavy.Count(r.TID()), CPU: u.CPU()}
		// Light client c was connection c+1 overall.
		mine := func(c int) bool { return (c+1)%cfg.Readers == i }
		for c := range sk.Light {
			if mine(c) {
				rd.LightClients = append(rd.LightClients, c)
			}
		}
		rd.Light = sk.LightDuring(mine)
		res.Readers = append(res.Readers, rd)
	}
	tl.Printf("")
	tl.Printf("during the busy connection's batch (%s):", timeline.Ms(res.Batch))
	tl.Printf("%-9s %6s %6s %6s %10s  %-14s %s", "reader", "tid", "conns", "heavy",
		"CPU", "light clients", "their GET / while the batch ran")
	for i, r := range res.Readers {
		tl.Printf("%-9d %6d %6d %6d %10s  %-14s p50 %s max %s", i, r.TID, r.Conns,
			r.Heavy, timeline.Ms(r.CPU), fmt.Sprint(r.LightClients),
			timeline.Ms(r.Light.P50), timeline.Ms(r.Light.Max))
	}
	tl.Printf("a connection never leaves its reader: reader 0 ran the whole batch alone.")
	return res, nil
}
