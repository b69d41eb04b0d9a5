package leak

import (
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Check makes t fail, when it ends, if a goroutine mentioning one of funcs
// is still running or if the process has more descriptors open than when
// Check was called (the extra ones are listed): what a test's connections,
// handlers and relays held must all be gone. Call it first, so that its
// check runs after every other cleanup.
func Check(t testing.TB, funcs ...string) {
	t.Helper()
	// The runtime opens its netpoller's descriptors on first use; make
	// sure that has happened, so they are not counted as the test's.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	before := FDs()
	t.Cleanup(func() {
		if left := Gone(5*time.Second, funcs...); len(left) > 0 {
			t.Errorf("goroutines left:\n%s", strings.Join(left, "\n\n"))
		}
		if now := FDsAtMost(5*time.Second, len(before)); len(now) > len(before) {
			t.Errorf("got %d descriptors open, want %d as before the test; new: %s",
				len(now), len(before), strings.Join(extra(before, now), " "))
		}
	})
}

// FDsAtMost waits up to d for the process to have at most n descriptors
// open and returns the last FDs. It collects garbage on every try: Go's
// splice(2) path keeps spare pipes in a sync.Pool that only a collection
// empties (a finalizer closes them), so a count taken at once would blame
// the pool for a leak.
func FDsAtMost(d time.Duration, n int) []string {
	deadline := time.Now().Add(d)
	for {
		runtime.GC()
		now := FDs()
		if len(now) <= n || time.Now().After(deadline) {
			return now
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// extra returns what is in now and not in before, as a multiset.
func extra(before, now []string) []string {
	left := slices.Clone(before)
	var out []string
	for _, fd := range now {
		if i := slices.Index(left, fd); i >= 0 {
			left = slices.Delete(left, i, i+1)
		} else {
			out = append(out, fd)
		}
	}
	return out
}
