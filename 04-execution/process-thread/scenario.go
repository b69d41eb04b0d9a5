package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"backend-protocols/internal/timeline"
)

type result struct {
	Cores  int
	Runs   []measurement
	Memory memory
	// Startup is the CPU one worker process spends with no work: the
	// start and exit of a Go runtime.
	Startup time.Duration
}

// Find returns the measurement of a model with a worker count.
func (r result) Find(model string, workers int) measurement {
	for _, m := range r.Runs {
		if m.Model == model && m.Workers == workers {
			return m
		}
	}
	return measurement{}
}

// run is the scenario as the demo harness calls it.
func (cfg *config) run(ctx context.Context, tl *timeline.Timeline) error {
	_, err := scenario(ctx, tl, *cfg)
	return err
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	res := result{Cores: runtime.NumCPU()}
	tl.Note("machine", "%d CPUs; the work: %d million steps of arithmetic, split evenly",
		res.Cores, cfg.Total/1e6)
	for _, md := range models {
		for _, w := range cfg.Workers {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			m, err := md.Run(w, cfg.Total)
			if err != nil {
				return res, fmt.Errorf("%s x %d: %w", md.Name, w, err)
			}
			res.Runs = append(res.Runs, m)
			tl.Note(md.Name, "workers %d: %s wall, %s CPU", w, timeline.Ms(m.Wall),
				timeline.Ms(m.Usage.CPU()))
		}
	}
	idle, err := inProcesses(1, 0)
	if err != nil {
		return res, err
	}
	res.Startup = idle.Usage.CPU()
	res.Memory.Goroutine = goroutineCost(10000)
	if res.Memory.Thread, err = threadCost(64); err != nil {
		return res, err
	}
	for _, m := range res.Runs {
		if m.Model == "processes" {
			res.Memory.Process = max(res.Memory.Process, m.Usage.MaxRSS)
		}
	}
	report(tl, res)
	return res, nil
}

func report(tl *timeline.Timeline, res result) {
	tl.Printf("")
	tl.Printf("%-12s %7s %10s %10s %8s %10s %12s", "model", "workers", "wall", "CPU",
		"cores", "voluntary", "involuntary")
	for _, m := range res.Runs {
		tl.Printf("%-12s %7d %10s %10s %8.2f %10d %12d", m.Model, m.Workers,
			timeline.Ms(m.Wall), timeline.Ms(m.Usage.CPU()), m.Parallelism(),
			m.Usage.Voluntary, m.Usage.Involuntary)
	}
	tl.Printf("(cores = CPU time / wall time; switches from getrusage: voluntary when a")
	tl.Printf("worker waited, involuntary when the kernel preempted it for another)")
	tl.Printf("")
	tl.Printf("memory per worker: goroutine %s (stack and heap), OS thread %s (resident),",
		size(res.Memory.Goroutine), size(res.Memory.Thread))
	tl.Printf("process %s (peak resident of one child, a whole Go runtime), and %s CPU",
		size(res.Memory.Process), timeline.Ms(res.Startup))
	tl.Printf("to start and stop one, work or no work")
	tl.Printf("with %d cores, the work never keeps more than %d busy, however many workers:",
		res.Cores, res.Cores)
	tl.Printf("beyond that, more workers add switching. (On a machine other programs load,")
	tl.Printf("more threads can win a larger share of it from them: that is not the work going faster.)")
}

func size(b int64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
