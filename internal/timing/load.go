package timing

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Load describes a bounded load: Workers goroutines call the request
// function back to back until Requests calls have been made or Duration has
// passed, whichever comes first. At least one bound must be set.
type Load struct {
	Workers  int           // concurrent callers; 1 if zero
	Requests int           // total calls; 0 means bounded by Duration only
	Duration time.Duration // wall-time bound; 0 means bounded by Requests only
}

// LoadResult is what a Load measured.
type LoadResult struct {
	Requests   int           // calls completed, failed ones included
	Errors     int           // calls that returned an error
	FirstError error         // the first error seen, if any
	Elapsed    time.Duration // from the first call to the last return
	Throughput float64       // completed calls per second
	Latency    Summary       // of the successful calls
}

// maxSamples bounds the latencies kept per run; beyond it each worker keeps
// a uniform random sample (reservoir sampling), so the percentiles stay
// honest and memory stays flat during a long run.
const maxSamples = 1 << 20

// ErrUnbounded is returned by Run when neither Requests nor Duration is set.
var ErrUnbounded = errors.New("timing: load needs Requests or Duration")

// Run applies the load. The request function receives the worker number
// (0..Workers-1) and a context that is cancelled when the load ends; its
// latency is measured around the call. Run returns early with ctx's error
// if ctx is cancelled, along with what was measured so far.
func (l Load) Run(ctx context.Context,
	request func(ctx context.Context, worker int) error) (LoadResult, error) {
	if l.Requests <= 0 && l.Duration <= 0 {
		return LoadResult{}, ErrUnbounded
	}
	workers := max(l.Workers, 1)
	parent := ctx
	if l.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.Duration)
		defer cancel()
	}
	var (
		issued   atomic.Int64 // calls handed out, to honour Requests
		mu       sync.Mutex
		res      LoadResult
		samples  []time.Duration
		wg       sync.WaitGroup
		perLimit = maxSamples / workers
	)
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			var (
				mine          []time.Duration
				seen, n, errs int
				firstErr      error
			)
			for ctx.Err() == nil {
				if l.Requests > 0 && issued.Add(1) > int64(l.Requests) {
					break
				}
				t0 := time.Now()
				err := request(ctx, w)
				d := time.Since(t0)
				if err != nil && ctx.Err() != nil {
					break // cut off by the end of the load: not a failure
				}
				n++
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				seen++
				if len(mine) < perLimit {
					mine = append(mine, d)
				} else if j := rand.IntN(seen); j < perLimit {
					mine[j] = d
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.Requests += n
			res.Errors += errs
			if res.FirstError == nil {
				res.FirstError = firstErr
			}
			samples = append(samples, mine...)
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if res.Elapsed > 0 {
		res.Throughput = float64(res.Requests) / res.Elapsed.Seconds()
	}
	res.Latency = Summarize(samples)
	return res, parent.Err()
}
