package demo

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// RaiseFileLimit raises this process's open-file limit to at least want,
// raising the hard limit too when the process may (root does), and returns
// the soft limit now in force. Servers holding thousands of idle clients
// need it; Go already lifts the soft limit to the hard one at start-up.
func RaiseFileLimit(want uint64) (uint64, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	next := lim
	next.Cur = want
	if next.Max < want {
		next.Max = want
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &next); err != nil {
		// Not allowed to raise the hard limit: take what it allows.
		next = lim
		next.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &next); err != nil {
			return lim.Cur, err
		}
		return next.Cur, fmt.Errorf("open-file limit is %d, want %d",
			next.Cur, want)
	}
	return next.Cur, nil
}
