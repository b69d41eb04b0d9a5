package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"
)

// run is what one server measured.
type run struct {
	Exclusive bool
	Conns     int
	Threads   []thread
}

// thread is one acceptor thread's counters over the run.
type thread struct {
	TID      int
	Accepted int64
	// Wakeups counts epoll_wait returns that found the listener ready;
	// Empty counts those whose accept4 then found nothing (EAGAIN).
	Wakeups, Empty int64
	// Switches counts the thread's voluntary context switches: each is
	// one time it slept and the kernel woke it.
	Switches int64
}

// Totals adds up the threads.
func (r run) Totals() (t thread) {
	for _, th := range r.Threads {
		t.Accepted += th.Accepted
		t.Wakeups += th.Wakeups
		t.Empty += th.Empty
		t.Switches += th.Switches
	}
	return t
}

// SwitchesPerConn is the context switches the threads made per connection.
func (r run) SwitchesPerConn() float64 {
	return float64(r.Totals().Switches) / float64(r.Conns)
}

// measure starts n threads on one listener and connects conns clients one
// at a time, each once every thread is asleep in epoll_wait.
func measure(ctx context.Context, tl *timeline.Timeline, n, conns int, exclusive bool) (run, error) {
	res := run{Exclusive: exclusive, Conns: conns}
	s, err := servers.StartMultiAcceptor("127.0.0.1:0", n, exclusive,
		servers.App("multi-acceptor"))
	if err != nil {
		return res, err
	}
	defer s.Close()
	tl.Note("server", "%s: %d threads wait on %s", s.Name(), n, s.Addr())
	before := make([]kernel.Usage, n)
	var clients []*rawnet.Client
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i, t := range s.Threads {
		if before[i], err = t.Usage(); err != nil {
			return res, err
		}
	}
	for i := range conns {
		if err := allAsleep(ctx, s.Threads); err != nil {
			return res, err
		}
		c, err := rawnet.Dial(ctx, s.Addr())
		if err != nil {
			return res, err
		}
		clients = append(clients, c)
		if err := accepted(ctx, s.Threads, int64(i+1)); err != nil {
			return res, err
		}
	}
	if err := allAsleep(ctx, s.Threads); err != nil {
		return res, err
	}
	for i, t := range s.Threads {
		u, err := t.Usage()
		if err != nil {
			return res, err
		}
		st := t.Stats()
		// Minus the one switch the Usage call itself caused.
		res.Threads = append(res.Threads, thread{TID: t.TID(),
			Accepted: st.Accepted, Wakeups: st.ListenWakeups,
			Empty: st.EmptyAccepts, Switches: u.Sub(before[i]).Voluntary - 1})
	}
	// Every client still gets served.
	for _, c := range clients {
		if _, err := c.Get(ctx, "/"); err != nil {
			return res, err
		}
	}
	return res, nil
}

// allAsleep waits until every thread sleeps in epoll_wait.
func allAsleep(ctx context.Context, loops []*rawnet.Loop) error {
	for {
		asleep := 0
		for _, l := range loops {
			w, err := kernel.WaitChannel(l.TID())
			if err != nil {
				return err
			}
			if strings.Contains(w, "epoll_wait") || w == "ep_poll" {
				asleep++
			}
		}
		if asleep == len(loops) {
			return nil
		}
		if err := pause(ctx); err != nil {
			return fmt.Errorf("waiting for the threads to sleep: %w", err)
		}
	}
}

// accepted waits until the threads have accepted want connections.
func accepted(ctx context.Context, loops []*rawnet.Loop, want int64) error {
	for {
		var n int64
		for _, l := range loops {
			n += l.Stats().Accepted
		}
		if n >= want {
			return nil
		}
		if err := pause(ctx); err != nil {
			return fmt.Errorf("waiting for accept %d: %w", want, err)
		}
	}
}

// pause is one step of polling a condition.
func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(200 * time.Microsecond):
		return nil
	}
}

// run is the scenario as the demo harness calls it.
func (cfg *config) run(ctx context.Context, tl *timeline.Timeline) error {
	_, err := scenario(ctx, tl, *cfg)
	return err
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) ([]run, error) {
	var runs []run
	for _, excl := range []bool{false, true} {
		r, err := measure(ctx, tl, cfg.Threads, cfg.Conns, excl)
		if err != nil {
			return runs, err
		}
		runs = append(runs, r)
		t := r.Totals()
		tl.Note("kernel", "%d connections: %d context switches in the threads, %.1f per connection",
			r.Conns, t.Switches, r.SwitchesPerConn())
	}
	printTable(tl, cfg, runs)
	return runs, nil
}

func printTable(tl *timeline.Timeline, cfg config, runs []run) {
	tl.Printf("")
	tl.Printf("%d threads, %d connections arriving one at a time:", cfg.Threads, cfg.Conns)
	tl.Printf("%-34s %16s %16s", "", "plain epoll", "EPOLLEXCLUSIVE")
	row := func(name string, f func(r run) string) {
		tl.Printf("%-34s %16s %16s", name, f(runs[0]), f(runs[1]))
	}
	row("accepted, per thread", func(r run) string {
		var s []string
		for _, t := range r.Threads {
			s = append(s, fmt.Sprint(t.Accepted))
		}
		return strings.Join(s, " ")
	})
	row("context switches, per thread", func(r run) string {
		var s []string
		for _, t := range r.Threads {
			s = append(s, fmt.Sprint(t.Switches))
		}
		return strings.Join(s, " ")
	})
	row("wake-ups per connection", func(r run) string {
		return fmt.Sprintf("%.1f", r.SwitchesPerConn())
	})
	row("epoll_wait returns for listener", func(r run) string {
		return fmt.Sprint(r.Totals().Wakeups)
	})
	row("accept4 found nothing (EAGAIN)", func(r run) string {
		return fmt.Sprint(r.Totals().Empty)
	})
}
