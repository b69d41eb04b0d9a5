// Package timing measures: a stopwatch, latency summaries (min, p50, p90,
// p99, max) and a small bounded load generator that later chapters use to
// compare patterns on the same workload.
package timing

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Stopwatch measures elapsed wall time from the moment it was started.
type Stopwatch struct {
	start, lap time.Time
}

// Start returns a running stopwatch.
func Start() *Stopwatch {
	now := time.Now()
	return &Stopwatch{start: now, lap: now}
}

// Elapsed reports the time since Start.
func (s *Stopwatch) Elapsed() time.Duration { return time.Since(s.start) }

// Lap reports the time since the previous Lap (or Start) and begins a new
// lap. It is not safe for concurrent use.
func (s *Stopwatch) Lap() time.Duration {
	now := time.Now()
	d := now.Sub(s.lap)
	s.lap = now
	return d
}

// Summary describes a set of latency samples.
type Summary struct {
	N                       int
	Min, P50, P90, P99, Max time.Duration
	Mean                    time.Duration
}

// Summarize computes a Summary of samples; it does not modify them.
// Percentiles use the nearest-rank method, so every reported value is one
// that was actually measured.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Summary{
		N:    len(s),
		Min:  s[0],
		P50:  Percentile(s, 50),
		P90:  Percentile(s, 90),
		P99:  Percentile(s, 99),
		Max:  s[len(s)-1],
		Mean: sum / time.Duration(len(s)),
	}
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted samples by
// the nearest-rank method: the smallest sample with at least p% of the
// samples at or below it. It returns 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// rank = ceil(p/100 * n); the epsilon keeps 90% of 10 at rank 9
	// despite floating-point noise.
	n := len(sorted)
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// String formats the summary on one line, in milliseconds.
func (s Summary) String() string {
	if s.N == 0 {
		return "n=0"
	}
	return fmt.Sprintf("n=%d min=%s p50=%s p90=%s p99=%s max=%s",
		s.N, ms(s.Min), ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max))
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
