package lb

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Check probes one target and returns nil when it is healthy.
type Check func(ctx context.Context, t *Target) error

// DialCheck is the L4 health check: a target is healthy when a TCP
// connection to it opens. It says nothing about whether the program
// behind the port works.
func DialCheck() Check {
	var d net.Dialer
	return func(ctx context.Context, t *Target) error {
		c, err := d.DialContext(ctx, "tcp", t.Addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// HTTPCheck is the L7 health check: GET scheme://Addr/path must answer
// 2xx. A backend whose port is open but whose application is failing
// (503 from /healthz) is caught by this check and missed by DialCheck.
func HTTPCheck(c *http.Client, scheme, path string) Check {
	return func(ctx context.Context, t *Target) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			scheme+"://"+t.Addr+path, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	}
}

// Checker runs active health checks: every Interval it probes each target,
// marks it down after Fall failures in a row and up again after Rise
// successes in a row.
type Checker struct {
	Check    Check
	Interval time.Duration
	Timeout  time.Duration // per probe; Interval if zero
	Fall     int           // failures in a row to mark down; 1 if zero
	Rise     int           // successes in a row to mark up; 1 if zero
	// OnChange, if set, is called when a target goes down or comes back,
	// with the error of the probe that took it down.
	OnChange func(t *Target, up bool, err error)
}

// Run checks targets until ctx is done, one goroutine per target, and
// returns when they have all stopped.
func (c *Checker) Run(ctx context.Context, targets ...*Target) {
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Go(func() { c.watch(ctx, t) })
	}
	wg.Wait()
}

func (c *Checker) watch(ctx context.Context, t *Target) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = c.Interval
	}
	fall, rise := max(c.Fall, 1), max(c.Rise, 1)
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	var fails, oks int
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := c.Check(pctx, t)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			fails, oks = fails+1, 0
			if fails >= fall && t.SetUp(false) && c.OnChange != nil {
				c.OnChange(t, false, err)
			}
			continue
		}
		fails, oks = 0, oks+1
		if oks >= rise && t.SetUp(true) && c.OnChange != nil {
			c.OnChange(t, true, nil)
		}
	}
}

// Start runs the checks in the background, as Run does, until ctx ends or
// stop is called; stop waits for them to end.
func (c *Checker) Start(ctx context.Context, targets ...*Target) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, targets...)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Await receives changes (true: a target came back, false: one went
// down) until one is want, or ctx ends.
func Await(ctx context.Context, changes <-chan bool, want bool) error {
	for {
		select {
		case up := <-changes:
			if up == want {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for a health check: %w", ctx.Err())
		}
	}
}
