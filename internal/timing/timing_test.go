package timing

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 10; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	cases := []struct {
		p    float64
		want time.Duration
	}{
		{50, 5 * time.Millisecond},
		{90, 9 * time.Millisecond},
		{99, 10 * time.Millisecond},
		{100, 10 * time.Millisecond},
		{1, 1 * time.Millisecond},
		{0, 1 * time.Millisecond},
	}
	for _, c := range cases {
		if got := Percentile(s, c.p); got != c.want {
			t.Errorf("p%v: got %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("empty: got %v, want 0", got)
	}
}

func TestSummarize(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		s = append(s, time.Duration(i)*time.Microsecond)
	}
	got := Summarize(s)
	want := Summary{N: 100, Min: 1 * time.Microsecond,
		P50: 50 * time.Microsecond, P90: 90 * time.Microsecond,
		P99: 99 * time.Microsecond, Max: 100 * time.Microsecond,
		Mean: 50500 * time.Nanosecond}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if s[0] != 100*time.Microsecond {
		t.Errorf("Summarize sorted its input")
	}
	if (Summary{}).String() != "n=0" {
		t.Errorf("got %q for an empty summary", Summary{}.String())
	}
}

func ExampleSummary_String() {
	s := Summarize([]time.Duration{time.Millisecond, 2 * time.Millisecond,
		3 * time.Millisecond, 4 * time.Millisecond})
	fmt.Println(s)
	// Output: n=4 min=1.00ms p50=2.00ms p90=4.00ms p99=4.00ms max=4.00ms
}

func TestStopwatch(t *testing.T) {
	sw := Start()
	first := sw.Lap()
	second := sw.Lap()
	if first < 0 || second < 0 || sw.Elapsed() < first+second {
		t.Errorf("laps %v %v exceed elapsed %v", first, second, sw.Elapsed())
	}
}

func TestLoadByCount(t *testing.T) {
	var calls atomic.Int64
	workersSeen := make([]atomic.Bool, 4)
	res, err := Load{Workers: 4, Requests: 1000}.Run(context.Background(),
		func(ctx context.Context, w int) error {
			workersSeen[w].Store(true)
			if calls.Add(1)%10 == 0 {
				return errors.New("every tenth fails")
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 1000 || calls.Load() != 1000 {
		t.Errorf("got %d requests (%d calls), want 1000", res.Requests,
			calls.Load())
	}
	if res.Errors != 100 || res.FirstError == nil {
		t.Errorf("got %d errors (first %v), want 100", res.Errors,
			res.FirstError)
	}
	if res.Latency.N != 900 {
		t.Errorf("got %d latency samples, want 900 successes", res.Latency.N)
	}
	if res.Throughput <= 0 {
		t.Errorf("got throughput %v", res.Throughput)
	}
}

func TestLoadByDuration(t *testing.T) {
	res, err := Load{Workers: 2, Duration: 50 * time.Millisecond}.Run(
		context.Background(), func(ctx context.Context, _ int) error {
			select {
			case <-time.After(time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 {
		t.Errorf("got %d errors; calls cut off at the end must not count",
			res.Errors)
	}
	if res.Requests < 10 || res.Elapsed > time.Second {
		t.Errorf("got %d requests in %v", res.Requests, res.Elapsed)
	}
}

func TestLoadNeedsABound(t *testing.T) {
	_, err := Load{Workers: 1}.Run(context.Background(),
		func(context.Context, int) error { return nil })
	if !errors.Is(err, ErrUnbounded) {
		t.Errorf("got %v, want ErrUnbounded", err)
	}
}

func TestLoadStopsWithParent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	_, err := Load{Workers: 2, Requests: 1 << 30}.Run(ctx,
		func(context.Context, int) error {
			if n.Add(1) == 100 {
				cancel()
			}
			return nil
		})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
