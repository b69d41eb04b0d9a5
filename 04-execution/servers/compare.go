package servers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/timing"
)

// Kind is an architecture the comparison can start.
type Kind struct {
	Name  string
	Start func(addr string) (Server, error)
}

// Kinds returns every architecture, net/http first, with n threads where
// an architecture has several (readers, workers, acceptors, shards).
func Kinds(n int) []Kind {
	return []Kind{
		{"net/http", func(a string) (Server, error) {
			return StartNetHTTP(a, AppHTTP("net/http"))
		}},
		{"single-thread", func(a string) (Server, error) {
			return StartSingleThread(a, App("single-thread"))
		}},
		{"multi-reader", func(a string) (Server, error) {
			return StartMultiReader(a, n, App("multi-reader"))
		}},
		{"message-lb", func(a string) (Server, error) {
			return StartMessageLB(a, n, App("message-lb"))
		}},
		{"multi-acceptor", func(a string) (Server, error) {
			return StartMultiAcceptor(a, n, true, App("multi-acceptor"))
		}},
		{"sharding", func(a string) (Server, error) {
			return StartSharding(a, n, ShardApp)
		}},
	}
}

// LoadConfig is the bounded load every server gets.
type LoadConfig struct {
	Conns    int           // keep-alive connections, one client goroutine each
	Duration time.Duration // how long each server is loaded
	Target   string        // request-target, "/" if empty
}

// Load opens cfg.Conns keep-alive connections to addr, sends one request
// on each to warm up, then has each send requests back to back for
// cfg.Duration with internal/timing's load generator. Any non-200 answer
// counts as an error.
func Load(ctx context.Context, addr string, cfg LoadConfig) (timing.LoadResult, error) {
	target := cfg.Target
	if target == "" {
		target = "/"
	}
	clients := make([]*rawnet.Client, 0, cfg.Conns)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for range max(cfg.Conns, 1) {
		c, err := rawnet.Dial(ctx, addr)
		if err != nil {
			return timing.LoadResult{}, err
		}
		clients = append(clients, c)
		if _, err := c.Get(ctx, target); err != nil {
			return timing.LoadResult{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	return drive(ctx, clients, target,
		timing.Load{Workers: len(clients), Duration: cfg.Duration})
}

// drive applies l with one worker per client, each sending GET target
// and wanting 200.
func drive(ctx context.Context, clients []*rawnet.Client, target string,
	l timing.Load) (timing.LoadResult, error) {
	return l.Run(ctx, func(ctx context.Context, w int) error {
		r, err := clients[w].Get(ctx, target)
		if err != nil {
			return err
		}
		if r.Status != 200 {
			return fmt.Errorf("got status %d, want 200", r.Status)
		}
		return nil
	})
}

// WrkResult is what wrk measured.
type WrkResult struct {
	Requests   int
	Throughput float64 // requests per second
	P50, P99   time.Duration
	Errors     int // socket errors and non-2xx/3xx answers
}

// ErrNoWrk is returned by RunWrk when wrk is not installed.
var ErrNoWrk = errors.New("wrk not installed")

// RunWrk loads url with wrk (threads threads, conns connections, for d)
// and parses its report.
func RunWrk(ctx context.Context, url string, threads, conns int, d time.Duration) (*WrkResult, error) {
	path, err := exec.LookPath("wrk")
	if err != nil {
		return nil, ErrNoWrk
	}
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	cmd := exec.CommandContext(ctx, path, "--latency",
		"-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns),
		"-d"+strconv.Itoa(secs)+"s", url)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("wrk: %w", err)
	}
	return ParseWrk(string(out))
}

// ParseWrk reads the report wrk --latency prints.
func ParseWrk(out string) (*WrkResult, error) {
	r := &WrkResult{}
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "50%":
			r.P50, _ = wrkDuration(f[1])
			seen++
		case len(f) == 2 && f[0] == "99%":
			r.P99, _ = wrkDuration(f[1])
			seen++
		case len(f) >= 2 && f[0] == "Requests/sec:":
			r.Throughput, _ = strconv.ParseFloat(f[1], 64)
			seen++
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			r.Requests, _ = strconv.Atoi(f[0])
		case len(f) >= 5 && f[0] == "Non-2xx":
			n, _ := strconv.Atoi(f[len(f)-1])
			r.Errors += n
		case len(f) >= 3 && f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 3; i < len(f); i += 2 {
				n, _ := strconv.Atoi(strings.TrimSuffix(f[i], ","))
				r.Errors += n
			}
		}
	}
	if seen != 3 {
		return nil, fmt.Errorf("wrk: cannot read its report:\n%s", out)
	}
	return r, nil
}

// wrkDuration parses "208.00us", "1.23ms", "2.00s".
func wrkDuration(s string) (time.Duration, error) {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, err
			}
			return time.Duration(f * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("wrk: bad duration %q", s)
}
