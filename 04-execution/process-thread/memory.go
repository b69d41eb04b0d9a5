package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// memory is what one more worker costs, measured three ways.
type memory struct {
	Goroutine int64 // stack and heap per parked goroutine
	Thread    int64 // resident memory per parked OS thread
	Process   int64 // peak resident memory of one worker process
}

// goroutineCost parks n goroutines and measures what the runtime took for
// them (stacks and heap).
func goroutineCost(n int) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { <-release })
	}
	runtime.ReadMemStats(&after)
	close(release)
	wg.Wait()
	used := int64(after.StackInuse+after.HeapAlloc) - int64(before.StackInuse+before.HeapAlloc)
	return used / int64(n)
}

// threadCost parks n goroutines each locked to a new OS thread and
// measures the growth of the process's resident memory (VmRSS). The
// threads end with their goroutines.
func threadCost(n int) (int64, error) {
	before, err := rss()
	if err != nil {
		return 0, err
	}
	release := make(chan struct{})
	ready := make(chan struct{}, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			runtime.LockOSThread() // never unlocked: the thread exits with it
			ready <- struct{}{}
			<-release
		})
	}
	for range n {
		<-ready
	}
	after, err := rss()
	close(release)
	wg.Wait()
	return (after - before) / int64(n), err
}

// rss reads VmRSS from /proc/self/status, in bytes.
func rss() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/self/status")
}
