package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

type config struct {
	Conns    int
	Duration time.Duration
	Wrk      time.Duration // 0 skips wrk
	Threads  int
}

// row is one server's line of the table.
type row struct {
	Name string
	Load timing.LoadResult
	Wrk  *servers.WrkResult // nil if wrk was skipped or is missing
}

// compare loads every architecture in turn and prints the table.
func compare(ctx context.Context, tl *timeline.Timeline, cfg config) ([]row, error) {
	tl.Note("compare", "%d keep-alive connections, %v each, GET /; %d threads per architecture",
		cfg.Conns, cfg.Duration, cfg.Threads)
	var rows []row
	for _, k := range servers.Kinds(cfg.Threads) {
		srv, err := k.Start("127.0.0.1:0")
		if err != nil {
			return rows, fmt.Errorf("%s: %w", k.Name, err)
		}
		r, err := loadOne(ctx, tl, cfg, k.Name, srv.Addr())
		srv.Close()
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	printTable(tl, cfg, rows)
	return rows, nil
}

// loadOne runs the load generator, then wrk, against addr.
func loadOne(ctx context.Context, tl *timeline.Timeline, cfg config,
	name, addr string) (row, error) {
	r := row{Name: name}
	res, err := servers.Load(ctx, addr, servers.LoadConfig{
		Conns: cfg.Conns, Duration: cfg.Duration})
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	if res.Errors > 0 {
		return r, fmt.Errorf("%s: %d of %d requests failed: %v", name,
			res.Errors, res.Requests, res.FirstError)
	}
	r.Load = res
	tl.Note("load", "%-16s %8.0f req/s  %s", name, res.Throughput, res.Latency)
	if cfg.Wrk > 0 {
		w, err := servers.RunWrk(ctx, "http://"+addr+"/", 2, cfg.Conns, cfg.Wrk)
		switch {
		case errors.Is(err, servers.ErrNoWrk):
			tl.Note("wrk", "not installed; skipping")
		case err != nil:
			return r, fmt.Errorf("%s: %w", name, err)
		case w.Errors > 0:
			return r, fmt.Errorf("%s: wrk saw %d errors", name, w.Errors)
		default:
			r.Wrk = w
			tl.Note("wrk", "%-16s %8.0f req/s  p50=%s p99=%s", name,
				w.Throughput, ms(w.P50), ms(w.P99))
		}
	}
	return r, nil
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func printTable(tl *timeline.Timeline, cfg config, rows []row) {
	tl.Printf("")
	tl.Printf("GET / with %d keep-alive connections (load generator %v, wrk %v):",
		cfg.Conns, cfg.Duration, cfg.Wrk)
	tl.Printf("| server | req/s | p50 | p99 | wrk req/s | wrk p50 | wrk p99 |")
	tl.Printf("|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		w := "| - | - | - |"
		if r.Wrk != nil {
			w = fmt.Sprintf("| %.0f | %s | %s |", r.Wrk.Throughput,
				ms(r.Wrk.P50), ms(r.Wrk.P99))
		}
		tl.Printf("| %s | %.0f | %s | %s %s", r.Name, r.Load.Throughput,
			ms(r.Load.Latency.P50), ms(r.Load.Latency.P99), w)
	}
}
