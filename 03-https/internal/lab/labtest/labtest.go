// Package labtest holds the checks chapter 3's tests share: skipping
// without namespaces, and asserting measured round trips best-of-N.
package labtest

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
)

// RTTs are the round-trip times every variant is checked at.
var RTTs = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}

// Tolerance is how far, in round trips, a measurement may exceed the
// prediction: handshake crypto, scheduling and the link's own precision.
const Tolerance = 0.25

// floor is how much faster than the emulated delays a trip may seem
// (clock reading granularity); anything faster means the path is wrong.
const floor = 500 * time.Microsecond

// Tries bounds the runs RoundTrips makes.
const Tries = 5

// NeedNamespaces skips the test unless this process can make network
// namespaces, the only place the TCP handshake pays the path's delay.
func NeedNamespaces(t testing.TB) {
	t.Helper()
	if err := netns.Available(); err != nil {
		t.Skip(err)
	}
}

// RoundTrips runs run up to Tries times and checks the trips it returns,
// by position: no trip of any run may arrive before its predicted round
// trips could have passed, and in at least one run each trip must be
// within Tolerance of its prediction with exactly the predicted number of
// round trips on its ladder. The best of a few runs keeps the check tight
// on a loaded two-core machine, where any one run can be held up, without
// letting a systematic error through: that shows in every run. Runs of
// all test binaries on the machine take turns (a file lock), so the
// chapter's packages, tested in parallel, do not load each other. It
// returns the trips of the first run, for further checks.
func RoundTrips(t *testing.T, run func() ([]lab.Trip, error)) []lab.Trip {
	t.Helper()
	var first []lab.Trip
	var good []bool
	var seen [][]string
	for try := 0; try < Tries; try++ {
		var trips []lab.Trip
		var err error
		exclusive(func() { trips, err = run() })
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = trips
			good = make([]bool, len(trips))
			seen = make([][]string, len(trips))
		}
		if len(trips) != len(first) {
			t.Fatalf("got %d trips, then %d", len(first), len(trips))
		}
		for i, tr := range trips {
			want := time.Duration(tr.Predicted) * tr.RTT
			if tr.TTFB < want-floor {
				t.Errorf("%s: got the first byte after %v, before %d round trips of %v",
					tr.Name, tr.TTFB, tr.Predicted, tr.RTT)
			}
			seen[i] = append(seen[i], formatTrip(tr))
			if tr.RoundTrips() <= float64(tr.Predicted)+Tolerance &&
				tr.Flights() == tr.Predicted {
				good[i] = true
			}
		}
		if all(good) {
			break
		}
	}
	for i, ok := range good {
		tr := first[i]
		runs := strings.Join(seen[i], "; ")
		t.Logf("%s at %v: %s", tr.Name, tr.RTT, runs)
		if !ok {
			t.Errorf("%s at %v: got %s; want one within %.2f RTT of %d "+
				"round trips with %d on its ladder", tr.Name, tr.RTT, runs,
				Tolerance, tr.Predicted, tr.Predicted)
		}
	}
	return first
}

func formatTrip(tr lab.Trip) string {
	return fmt.Sprintf("%v = %.2f RTT, %d on the ladder",
		tr.TTFB.Round(100*time.Microsecond), tr.RoundTrips(), tr.Flights())
}

func all(b []bool) bool {
	for _, v := range b {
		if !v {
			return false
		}
	}
	return true
}

// Main is a chapter-3 test binary's TestMain: it gives a non-root user
// namespaces where the kernel allows (netns.Reexec), runs the tests, and
// then fails the run if a goroutine of the chapter, its engines, its
// servers or the link is still running, or a thread was left in a
// namespace.
func Main(m *testing.M) {
	netns.Reexec()
	code := m.Run()
	if code == 0 {
		left := leak.Gone(5*time.Second, "03-https/internal/variant.",
			"03-https/internal/lab.", "earlytls.(*Conn)", "internal/netem.",
			"net/http.(*conn).serve", "crypto/tls.(*Conn).HandshakeContext")
		if len(left) > 0 {
			fmt.Fprintf(os.Stderr, "goroutines left running:\n%s\n",
				strings.Join(left, "\n\n"))
			code = 1
		}
		if stray := netns.StrayThreads(); len(stray) > 0 {
			fmt.Fprintf(os.Stderr, "threads left in a namespace: %v\n", stray)
			code = 1
		}
	}
	os.Exit(code)
}

// EachRTT skips without namespaces, then runs check as a subtest at each
// of RTTs, with a lab configuration for that RTT.
func EachRTT(t *testing.T, check func(t *testing.T, cfg lab.Config)) {
	t.Helper()
	NeedNamespaces(t)
	for _, rtt := range RTTs {
		t.Run(rtt.String(), func(t *testing.T) { check(t, lab.Config{RTT: rtt}) })
	}
}

// Fallback runs a scenario the way a machine without namespaces would, on
// loopback at a 20 ms RTT, and checks that it still works: every trip
// measured, at least one round trip fewer than predicted (the relay
// answers the SYN itself, so TCP's handshake costs nothing), and the
// output saying what was not measured. It returns the output.
func Fallback(t *testing.T, run func(*timeline.Timeline, lab.Config) ([]lab.Trip, error)) string {
	t.Helper()
	var out strings.Builder
	rtt := 20 * time.Millisecond
	trips, err := run(timeline.New(&out), lab.Config{RTT: rtt, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range trips {
		if want := time.Duration(tr.Predicted-1) * rtt; tr.Emulated || tr.TTFB < want {
			t.Errorf("%s: got emulated %v, first byte after %v; want false, at least %v",
				tr.Name, tr.Emulated, tr.TTFB, want)
		}
	}
	if !strings.Contains(strings.ToLower(out.String()), "not measured") {
		t.Errorf("output does not say what was not measured:\n%s", out.String())
	}
	return out.String()
}
