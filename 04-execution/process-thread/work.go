package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"backend-protocols/internal/kernel"

	"golang.org/x/sys/unix"
)

// spin is the CPU-bound work: n steps of a linear congruential generator,
// which touch no memory, so that only the CPU counts.
func spin(n uint64) uint64 {
	x := n
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// childEnv names the variable that makes this program a worker process.
const childEnv = "PROCESS_THREAD_SPIN"

// runChild is a worker process's whole life: spin, print, exit. It
// returns false when this program is not a worker.
func runChild() bool {
	v := os.Getenv(childEnv)
	if v == "" {
		return false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad", childEnv, v)
		os.Exit(2)
	}
	fmt.Println(spin(n))
	os.Exit(0)
	return true
}

// measurement is one model with one worker count.
type measurement struct {
	Model   string
	Workers int
	Wall    time.Duration
	Usage   kernel.Usage // CPU and context switches of the workers
}

// Parallelism is CPU time per wall time: how many cores were busy.
func (m measurement) Parallelism() float64 {
	return float64(m.Usage.CPU()) / float64(m.Wall)
}

// model is one way to run workers.
type model struct {
	Name string
	Run  func(workers int, total uint64) (measurement, error)
}

var models = []model{
	{"goroutines", inGoroutines},
	{"OS threads", inThreads},
	{"processes", inProcesses},
}

// inGoroutines runs the workers as goroutines: Go's scheduler puts them on
// GOMAXPROCS threads (one per core).
func inGoroutines(workers int, total uint64) (measurement, error) {
	return inProcess("goroutines", workers, total, false)
}

// inThreads runs each worker on an OS thread of its own (LockOSThread)
// and lets all of them run at once (GOMAXPROCS = workers), so that the
// kernel, not Go, shares the cores among them.
func inThreads(workers int, total uint64) (measurement, error) {
	prev := runtime.GOMAXPROCS(max(workers, runtime.GOMAXPROCS(0)))
	defer runtime.GOMAXPROCS(prev)
	return inProcess("OS threads", workers, total, true)
}

func inProcess(name string, workers int, total uint64, lock bool) (measurement, error) {
	m := measurement{Model: name, Workers: workers}
	before, err := kernel.GetUsage(unix.RUSAGE_SELF)
	if err != nil {
		return m, err
	}
	start := time.Now()
	var wg sync.WaitGroup
	sink := make([]uint64, workers)
	for i := range workers {
		wg.Go(func() {
			if lock {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			sink[i] = spin(total / uint64(workers))
		})
	}
	wg.Wait()
	m.Wall = time.Since(start)
	after, err := kernel.GetUsage(unix.RUSAGE_SELF)
	m.Usage = after.Sub(before)
	return m, err
}

// inProcesses runs each worker as a child process: this program again,
// told by childEnv to spin. The children's own getrusage comes back
// through wait4.
func inProcesses(workers int, total uint64) (measurement, error) {
	m := measurement{Model: "processes", Workers: workers}
	self, err := os.Executable()
	if err != nil {
		return m, err
	}
	start := time.Now()
	cmds := make([]*exec.Cmd, workers)
	for i := range cmds {
		c := exec.Command(self)
		c.Env = append(os.Environ(), fmt.Sprintf("%s=%d", childEnv, total/uint64(workers)),
			// A binary built with -race sleeps a second at exit unless
			// told not to; that second is not the work's.
			"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			return m, err
		}
		cmds[i] = c
	}
	var firstErr error
	for _, c := range cmds {
		if err := c.Wait(); err != nil && firstErr == nil {
			firstErr = err
		}
		ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			continue
		}
		m.Usage.User += time.Duration(ru.Utime.Nano())
		m.Usage.System += time.Duration(ru.Stime.Nano())
		m.Usage.Voluntary += ru.Nvcsw
		m.Usage.Involuntary += ru.Nivcsw
		m.Usage.MaxRSS = max(m.Usage.MaxRSS, ru.Maxrss<<10)
	}
	m.Wall = time.Since(start)
	return m, firstErr
}
