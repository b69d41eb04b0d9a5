package main

import (
	"context"
	"fmt"
	"time"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

// worker is what one worker thread did.
type worker struct {
	TID   int
	Jobs  int64 // requests it ran, light and heavy
	Heavy int   // heavy requests it ran
	CPU   time.Duration
}

type result struct {
	Batch time.Duration // the busy connection's pipelined batch
	// ReaderBatch is the same batch on multi-reader with as many reader
	// threads as there are workers here, and ReaderHeavy the most heavy
	// requests one of its threads ran.
	ReaderBatch time.Duration
	ReaderHeavy int
	ReaderCPU   time.Duration
	Workers     []worker
	Light       timing.Summary // every light client's GET / during the batch
}

// run is the scenario as the demo harness calls it.
func (cfg *config) run(ctx context.Context, tl *timeline.Timeline) error {
	_, err := scenario(ctx, tl, *cfg)
	return err
}

// scenario runs the skewed load on message-lb, reads each worker's share
// from the kernel, then runs it again on multi-reader for comparison.
func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	app, heavy := servers.CountPrimes("message-lb")
	s, err := servers.StartMessageLB("127.0.0.1:0", cfg.Workers, app)
	if err != nil {
		return res, err
	}
	defer s.Close()
	tl.Note("server", "reader is thread %d; %d workers take requests from one queue",
		s.Reader.TID(), cfg.Workers)
	tl.Note("light", "%d clients send GET / every %v", cfg.Skew.Light, cfg.Skew.Gap)
	sk, err := servers.RunSkewed(ctx, s.Addr(), cfg.Skew, tl)
	if err != nil {
		return res, err
	}
	res.Batch = sk.Batch()
	res.Light = sk.LightDuring(nil)
	u, err := s.Reader.Usage()
	if err != nil {
		return res, err
	}
	res.ReaderCPU = u.CPU()
	for _, w := range s.Workers {
		res.Workers = append(res.Workers, worker{TID: w.TID(), Jobs: w.Jobs.Load(),
			Heavy: heavy.Count(w.TID()), CPU: w.Usage().CPU()})
	}

	tl.Printf("")
	tl.Printf("during the busy connection's batch (%s):", timeline.Ms(res.Batch))
	tl.Printf("%-9s %6s %9s %6s %10s", "thread", "tid", "requests", "heavy", "CPU")
	tl.Printf("%-9s %6d %9s %6s %10s", "reader", s.Reader.TID(), "all", "-",
		timeline.Ms(res.ReaderCPU))
	for i, w := range res.Workers {
		tl.Printf("%-9s %6d %9d %6d %10s", fmt.Sprintf("worker %d", i), w.TID,
			w.Jobs, w.Heavy, timeline.Ms(w.CPU))
	}
	tl.Printf("light GET / while the batch ran: %s", res.Light)
	tl.Printf("the batch was split over the workers; light requests queued behind it.")

	if err := compareMultiReader(ctx, tl, cfg, &res); err != nil {
		return res, err
	}
	return res, nil
}

// compareMultiReader runs the same skewed load on multi-reader, where a
// connection's requests all run on its one reader thread.
func compareMultiReader(ctx context.Context, tl *timeline.Timeline, cfg config, res *result) error {
	app, heavy := servers.CountPrimes("multi-reader")
	s, err := servers.StartMultiReader("127.0.0.1:0", cfg.Workers, app)
	if err != nil {
		return err
	}
	defer s.Close()
	sk, err := servers.RunSkewed(ctx, s.Addr(), cfg.Skew, timeline.Quiet())
	if err != nil {
		return err
	}
	res.ReaderBatch = sk.Batch()
	for _, r := range s.Readers {
		res.ReaderHeavy = max(res.ReaderHeavy, heavy.Count(r.TID()))
	}
	tl.Printf("")
	tl.Printf("the same load on multi-reader with %d readers: the batch took %s, %d of %d heavy requests on one thread",
		cfg.Workers, timeline.Ms(res.ReaderBatch), res.ReaderHeavy, cfg.Skew.Heavy)
	tl.Printf("here: %s, at most %d on one thread.", timeline.Ms(res.Batch), maxHeavy(res.Workers))
	return nil
}

func maxHeavy(ws []worker) int {
	m := 0
	for _, w := range ws {
		m = max(m, w.Heavy)
	}
	return m
}
