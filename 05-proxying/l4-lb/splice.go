package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"
)

// spliceResult compares the two ways of copying: what passed through
// read(2) and write(2) in this process while n bytes crossed the balancer.
type spliceResult struct {
	Bytes        int64
	Kernel, User kernel.IO
}

// spliceScene downloads n bytes from a backend through a balancer that
// copies with splice and through one that copies in user space, and reads
// this process's I/O accounting around each. The client's reads and the
// backend's writes count once either way; only the user-space copy adds
// the balancer's own.
func spliceScene(ctx context.Context, tl *timeline.Timeline, b *lb.Backend,
	res *result, n int64) error {
	tl.Printf("== splice: the bytes never enter the balancer's memory")
	if _, err := kernel.ReadIO(); err != nil {
		tl.Note("l4-lb", "no /proc/self/io here (%v): skipping the count", err)
		return nil
	}
	res.Splice.Bytes = n
	for _, way := range []struct {
		copy lb.Copier
		io   *kernel.IO
	}{{lb.KernelCopy, &res.Splice.Kernel}, {lb.UserCopy, &res.Splice.User}} {
		addr, stop, err := run(ctx, &balancer{name: "l4-lb", tl: tl, copy: way.copy,
			pool: lb.NewPool(lb.RoundRobin, lb.NewTarget(b.Name, b.Addr))})
		if err != nil {
			return err
		}
		got, io, err := download(ctx, fmt.Sprintf("http://%s/bulk?bytes=%d", addr, n))
		stop()
		if err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("bulk: got %d bytes, want %d", got, n)
		}
		*way.io = io
	}
	s := res.Splice
	mib := func(v int64) string { return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20)) }
	tl.Printf("%d MiB from %s to the client, counted in /proc/self/io of this process", n>>20, b.Name)
	tl.Printf("(client, balancer and backend all live here):")
	tl.Printf("  %-28s %14s %14s", "", "io.Copy", "read+write loop")
	tl.Printf("  %-28s %14s %14s", "bytes through read()", mib(s.Kernel.ReadBytes), mib(s.User.ReadBytes))
	tl.Printf("  %-28s %14s %14s", "bytes through write()", mib(s.Kernel.WriteBytes), mib(s.User.WriteBytes))
	tl.Printf("  %-28s %14d %14d", "read() calls", s.Kernel.Reads, s.User.Reads)
	tl.Printf("  %-28s %14d %14d", "write() calls", s.Kernel.Writes, s.User.Writes)
	tl.Note("l4-lb", "with io.Copy only the client's reads and the backend's writes count:")
	tl.Note("l4-lb", "the balancer moved every byte with splice(2), which counts in neither")
	return nil
}

// download GETs url and reads the body with a large buffer, returning the
// bytes read and this process's I/O meanwhile.
func download(ctx context.Context, url string) (int64, kernel.IO, error) {
	c := perConnClient()
	before, err := kernel.ReadIO()
	if err != nil {
		return 0, kernel.IO{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, kernel.IO{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, kernel.IO{}, err
	}
	n, err := io.CopyBuffer(discard{}, resp.Body, make([]byte, 1<<20))
	resp.Body.Close()
	after, _ := kernel.ReadIO()
	return n, after.Sub(before), err
}

// discard is io.Discard without ReadFrom, so CopyBuffer uses our buffer.
type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
