// Package leak finds goroutines a test should have ended: those whose stack
// mentions a function the test names, such as "net/http.(*conn).serve" for
// a connection still being served or a demo's own handler.
//
// Matching on named functions, rather than comparing goroutine counts
// before and after, is immune to unrelated goroutines of the runtime,
// the test framework and servers starting up.
package leak

import (
	"runtime"
	"strings"
	"time"
)

// Stacks returns the stack of every goroutine whose stack contains one of
// the given function names.
func Stacks(funcs ...string) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, f := range funcs {
			if strings.Contains(g, f) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// Gone waits up to d for every goroutine mentioning one of funcs to end.
// It returns nil when none is left, or the stacks of those still running.
func Gone(d time.Duration, funcs ...string) []string {
	deadline := time.Now().Add(d)
	for {
		left := Stacks(funcs...)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(5 * time.Millisecond)
	}
}
