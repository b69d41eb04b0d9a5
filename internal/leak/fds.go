package leak

import (
	"os"
	"runtime"
	"time"
)

// FDs returns how many file descriptors this process has open, read from
// /proc/self/fd (Linux).
func FDs() (int, error) {
	f, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return 0, err
	}
	return len(names) - 1, nil // less the one reading the directory
}

// FDsAtMost waits up to d for the process to have at most want open
// descriptors and returns the last count. It collects garbage on every try:
// Go's splice path keeps spare pipes in a sync.Pool that only a collection
// empties (a finalizer closes them), so a count taken at once would blame
// the pool for a leak.
func FDsAtMost(d time.Duration, want int) (int, error) {
	deadline := time.Now().Add(d)
	for {
		runtime.GC()
		n, err := FDs()
		if err != nil || n <= want || time.Now().After(deadline) {
			return n, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
