package servers

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"

	"golang.org/x/sys/unix"
)

// SkewConfig is a skewed load: one busy connection and a few light ones.
type SkewConfig struct {
	Prime uint64        // the busy connection asks /prime?n=Prime
	Heavy int           // how many of those it pipelines at once
	Light int           // light clients sending GET /
	Gap   time.Duration // between a light client's requests
}

// DefaultSkew is the skewed load multi-reader and message-lb share: four
// heavy requests of about 50 ms each, four light clients.
func DefaultSkew() SkewConfig {
	return SkewConfig{Prime: 20000003, Heavy: 4, Light: 4, Gap: 2 * time.Millisecond}
}

// SkewResult is what a skewed load measured.
type SkewResult struct {
	Start, End time.Time // the busy connection's batch: sent, last answer
	// Light holds each light client's samples. The busy connection was
	// accepted first, light client i as connection i+1.
	Light [][]Sample
}

// Batch is how long the busy connection's pipelined batch took.
func (r SkewResult) Batch() time.Duration { return r.End.Sub(r.Start) }

// Flags registers -n and -heavy for the busy connection's batch.
func (c *SkewConfig) Flags(fs *flag.FlagSet) {
	fs.Uint64Var(&c.Prime, "n", c.Prime,
		"the heavy requests' number: /prime?n=N tries every divisor below N")
	fs.IntVar(&c.Heavy, "heavy", c.Heavy, "heavy requests the busy connection pipelines")
}

// LightDuring summarizes the light requests sent while the batch ran, of
// the light clients keep picks (all if keep is nil).
func (r SkewResult) LightDuring(keep func(client int) bool) timing.Summary {
	var all []Sample
	for c, s := range r.Light {
		if keep == nil || keep(c) {
			all = append(all, s...)
		}
	}
	return Between(all, r.Start, r.End)
}

// RunSkewed connects the busy connection first, then the light clients,
// lets the light ones run alone for a moment, then has the busy one
// pipeline its batch and wait for every answer, telling tl.
func RunSkewed(ctx context.Context, addr string, cfg SkewConfig, tl *timeline.Timeline) (SkewResult, error) {
	var res SkewResult
	busy, err := rawnet.Dial(ctx, addr)
	if err != nil {
		return res, err
	}
	defer busy.Close()
	if _, err := busy.Get(ctx, "/"); err != nil {
		return res, err
	}
	probe, err := StartProbe(ctx, addr, cfg.Light, cfg.Gap)
	if err != nil {
		return res, err
	}
	targets := make([]string, cfg.Heavy)
	for i := range targets {
		targets[i] = fmt.Sprintf("/prime?n=%d", cfg.Prime)
	}
	err = timing.Sleep(ctx, 100*time.Millisecond)
	if err == nil {
		tl.Send("busy", "server", "%d x GET /prime?n=%d, pipelined", cfg.Heavy, cfg.Prime)
		res.Start = time.Now()
		var rs []*rawnet.Response
		rs, err = busy.Pipeline(ctx, targets...)
		res.End = time.Now()
		if err == nil {
			tl.Send("server", "busy", "%d answers, in order, after %s", len(rs),
				timeline.Ms(res.Batch()))
		}
		for _, r := range rs {
			if r.Status != 200 {
				err = fmt.Errorf("busy connection: got status %d", r.Status)
			}
		}
	}
	if err == nil {
		err = timing.Sleep(ctx, 30*time.Millisecond)
	}
	samples, perr := probe.Stop()
	res.Light = samples
	if err == nil {
		err = perr
	}
	return res, err
}

// ThreadCounter counts requests for one path by the OS thread that ran
// them, to show which thread did the heavy work.
type ThreadCounter struct {
	mu     sync.Mutex
	counts map[int]int
}

// CountPrimes returns App(name) and a counter of its /prime requests by
// the thread that ran them.
func CountPrimes(name string) (rawnet.Handler, *ThreadCounter) {
	c := &ThreadCounter{}
	return c.Wrap("/prime", App(name)), c
}

// Wrap returns h counting the requests for path.
func (c *ThreadCounter) Wrap(path string, h rawnet.Handler) rawnet.Handler {
	return func(r *rawnet.Request) rawnet.Response {
		if r.Path() == path {
			c.mu.Lock()
			if c.counts == nil {
				c.counts = make(map[int]int)
			}
			c.counts[unix.Gettid()]++
			c.mu.Unlock()
		}
		return h(r)
	}
}

// Count returns the requests thread tid ran.
func (c *ThreadCounter) Count(tid int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[tid]
}
