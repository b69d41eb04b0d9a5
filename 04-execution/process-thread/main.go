// Processes and threads: the same CPU-bound work split across goroutines,
// OS threads and child processes, with 1, 2 and 8 workers.
//
//	go run ./04-execution/process-thread
//
// The demo re-executes itself for the child processes. Each row prints the
// wall time, the CPU time, how many cores that kept busy (CPU / wall), and
// the voluntary and involuntary context switches from getrusage (the
// children's come back through wait4). Look for the wall time halving from
// one worker to two on a two-core machine and then not moving at eight,
// while the involuntary switches climb; and for the memory one more worker
// costs: kilobytes for a goroutine or a thread, megabytes for a process.
package main

import (
	"backend-protocols/internal/demo"
)

func main() {
	if runChild() {
		return
	}
	cfg := config{Total: 150e6, Workers: []int{1, 2, 8}}
	p := demo.New("process-thread",
		"Processes and threads: one CPU-bound job over goroutines, threads and processes.",
		demo.Modes{
			Scenario: cfg.run,
		})
	p.Flags.Uint64Var(&cfg.Total, "steps", cfg.Total, "steps of work in all")
	p.Main()
}

type config struct {
	Total   uint64 // steps of work, split over the workers
	Workers []int
}
