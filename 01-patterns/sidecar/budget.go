package main

import (
	"sync"
	"time"
)

// budget caps retries at a fraction of recent requests, as Finagle's
// RetryBudget and Envoy's retry budgets do: when the upstream is down,
// every request failing, retries stay a small share of the traffic
// instead of multiplying it by the number of attempts (a retry storm).
// Over the last window, retries may number at most Min + Ratio x requests.
type budget struct {
	Ratio  float64       // retries allowed per request
	Min    int           // retries allowed per window whatever the traffic
	Window time.Duration // how far back requests and retries count
	Now    func() time.Time

	mu      sync.Mutex
	buckets [budgetBuckets]struct {
		start             time.Time
		requests, retries int
	}
}

// budgetBuckets is how finely the window slides.
const budgetBuckets = 10

func (b *budget) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// bucket returns the bucket for now, emptied if it held an older slice of
// time. The caller holds b.mu.
func (b *budget) bucket(now time.Time) int {
	width := b.Window / budgetBuckets
	slot := now.Truncate(width)
	i := int(slot.UnixNano()/int64(width)) % budgetBuckets
	if !b.buckets[i].start.Equal(slot) {
		b.buckets[i].start, b.buckets[i].requests, b.buckets[i].retries = slot, 0, 0
	}
	return i
}

// totals counts the requests and retries in the window ending at now.
// The caller holds b.mu.
func (b *budget) totals(now time.Time) (requests, retries int) {
	for _, k := range b.buckets {
		if now.Sub(k.start) < b.Window {
			requests += k.requests
			retries += k.retries
		}
	}
	return requests, retries
}

// Request records a request (not a retry).
func (b *budget) Request() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buckets[b.bucket(b.now())].requests++
}

// Withdraw reports whether one more retry fits the budget, and if so
// records it.
func (b *budget) Withdraw() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	i := b.bucket(now)
	requests, retries := b.totals(now)
	if float64(retries+1) > float64(b.Min)+b.Ratio*float64(requests) {
		return false
	}
	b.buckets[i].retries++
	return true
}
