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

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	var heavy servers.ThreadCounter
	s, err := servers.StartMultiReader("127.0.0.1:0", cfg.Readers,
		heavy.Wrap("/prime", servers.App("multi-reader")))
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
	sk, err := servers.RunSkewed(ctx, s.Addr(), cfg.Skew, func() {
		tl.Send("busy", "server", "%d x GET /prime?n=%d, pipelined", cfg.Skew.Heavy,
			cfg.Skew.Prime)
	})
	if err != nil {
		return res, err
	}
	res.Batch = sk.Batch()
	tl.Send("server", "busy", "%d answers after %s", cfg.Skew.Heavy, timeline.Ms(res.Batch))
	for i, r := range s.Readers {
		u, err := r.Usage()
		if err != nil {
			return res, err
		}
		rd := reader{TID: r.TID(), Conns: s.Handed[i].Load(),
			Heavy: heavy.Count(r.TID()), CPU: u.CPU()}
		var lat []time.Duration
		for c, samples := range sk.Light {
			// Light client c was connection c+1 overall.
			if (c+1)%cfg.Readers != i {
				continue
			}
			rd.LightClients = append(rd.LightClients, c)
			for _, x := range samples {
				if !x.At.Before(sk.Start) && x.At.Before(sk.End) {
					lat = append(lat, x.Latency)
				}
			}
		}
		rd.Light = timing.Summarize(lat)
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
