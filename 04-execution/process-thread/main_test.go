package main

import (
	"context"
	"os"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

// TestMain lets the test binary be the worker process too: the processes
// model re-executes os.Executable(), which here is the test binary.
func TestMain(m *testing.M) {
	if runChild() {
		return
	}
	os.Exit(m.Run())
}

func TestWorkersBeyondCores(t *testing.T) {
	cfg := config{Total: 30e6, Workers: []int{1, 2, 8}}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 9 {
		t.Fatalf("got %d runs, want 9", len(res.Runs))
	}
	for _, md := range models {
		one := res.Find(md.Name, 1)
		for _, w := range cfg.Workers {
			m := res.Find(md.Name, w)
			// The same work costs the same CPU however it is split;
			// each process adds a Go runtime's start and exit.
			extra := time.Duration(0)
			if md.Name == "processes" {
				extra = time.Duration(w-1) * res.Startup * 2
			}
			lo, hi := one.Usage.CPU()*6/10, one.Usage.CPU()*3/2+extra+40*time.Millisecond
			if c := m.Usage.CPU(); c < lo || c > hi {
				t.Errorf("%s x %d: got %v CPU, want about %v as with one worker",
					md.Name, w, c, one.Usage.CPU())
			}
			// No number of workers keeps more cores busy than there are.
			if p := m.Parallelism(); p > float64(res.Cores)+0.25 {
				t.Errorf("%s x %d: got %.2f cores busy on a %d-core machine",
					md.Name, w, p, res.Cores)
			}
		}
	}
	mem := res.Memory
	if mem.Goroutine <= 0 || mem.Goroutine > mem.Process/10 || mem.Thread > mem.Process/4 {
		t.Errorf("got goroutine %d B, thread %d B, process %d B per worker; want kilobytes, kilobytes, megabytes",
			mem.Goroutine, mem.Thread, mem.Process)
	}
}
