package leak

import (
	"strings"
	"testing"
	"time"
)

// Check makes t fail, when it ends, if a goroutine mentioning one of funcs
// is still running or if the process has more descriptors open than when
// Check was called: what a test's connections, handlers and relays held
// must all be gone. Call it first, so that its check runs after every
// other cleanup. It skips t where descriptors cannot be counted.
func Check(t testing.TB, funcs ...string) {
	t.Helper()
	before, err := FDs()
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	t.Cleanup(func() {
		if left := Gone(5*time.Second, funcs...); len(left) > 0 {
			t.Errorf("goroutines left:\n%s", strings.Join(left, "\n\n"))
		}
		if n, _ := FDsAtMost(5*time.Second, before); n > before {
			t.Errorf("got %d descriptors open, want %d as before the test", n, before)
		}
	})
}
