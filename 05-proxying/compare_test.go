// Package proxying holds the chapter's measured comparison: the same load
// sent straight to a backend, through l4-lb and through l7-lb (and, where
// installed, through haproxy in tcp and in http mode, the kind of proxy
// they stand in for), in one run on this machine:
//
//	go test -run '^$' -bench Compare -benchtime 2s ./05-proxying
//
// The three backends run as processes of their own (this test binary, started again as a backend), and
// each proxy as its own process (`-serve -backends`, built from this
// chapter) in front of them, so the CPU time of each can be read from
// /proc/PID/stat. The load comes from internal/timing's Load (and, if
// installed, from wrk as an independent check). The benchmark prints a
// table at the end; 05-proxying/README.md shows one. TestCompareRig runs
// every part briefly, and TestSpliceUnderStrace (splice_test.go) counts
// an l4-lb process's splice calls from outside with strace.
package proxying

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/crowd"
	"backend-protocols/internal/timing"
)

// target is one way to reach a backend, and the processes that do the
// server-side work on that way (backends and proxy), whose CPU is counted.
type target struct {
	name string
	url  string
	pids []int
}

// cpuTime reads the user and system time of processes from /proc/PID/stat.
func cpuTime(pids []int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, err
		}
		// The command name may hold spaces; the fields after it do not.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 13 {
			return 0, errors.New("short /proc stat line")
		}
		// Fields 14 and 15 of stat(5), utime and stime, in clock ticks of
		// 1/100 s (USER_HZ, 100 on Linux).
		for _, i := range []int{11, 12} {
			ticks, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil {
				return 0, err
			}
			total += time.Duration(ticks) * 10 * time.Millisecond
		}
	}
	return total, nil
}

// freePort returns a loopback port that was free a moment ago, for
// haproxy, which wants its ports in its configuration.
func freePort(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startHAProxy runs haproxy in front of backends in mode "tcp" or "http",
// round-robin, with splicing allowed, and returns its address and pid.
func startHAProxy(tb testing.TB, mode string, backends []string) (string, int) {
	tb.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return "", 0
	}
	addr := freePort(tb)
	var servers strings.Builder
	for i, b := range backends {
		fmt.Fprintf(&servers, "  server b%d %s\n", i+1, b)
	}
	cfg := fmt.Sprintf(`global
  maxconn 4096
defaults
  mode %s
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  option splice-auto
frontend front
  bind %s
  default_backend pool
backend pool
  balance roundrobin
%s`, mode, addr, servers.String())
	path := filepath.Join(tb.TempDir(), "haproxy-"+mode+".cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-q", "-f", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, cmd.Process.Pid
		}
		select {
		case <-done:
			tb.Fatalf("haproxy exited: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("haproxy never listened on %s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rig is the processes of one comparison.
type rig struct {
	requests []target // for request load
	bulk     []target // for bulk throughput
}

func newRig(tb testing.TB) *rig {
	tb.Helper()
	// Three backends, each its own process, behind every path.
	var addrs []string
	var pids []int
	for _, name := range []string{"b1", "b2", "b3"} {
		b := startBackend(tb, name)
		addrs = append(addrs, b.Addr)
		pids = append(pids, b.Cmd.Process.Pid)
	}
	backends := strings.Join(addrs, ",")
	l4, l7 := binary(tb, "l4-lb"), binary(tb, "l7-lb")
	proxy := func(bin string, args ...string) (string, []int) {
		s := crowd.Start(tb, bin, append([]string{"-serve", "127.0.0.1:0",
			"-backends", backends}, args...)...)
		return "http://" + s.Addr, append([]int{s.Cmd.Process.Pid}, pids...)
	}
	direct := target{"direct", "http://" + addrs[0], pids}
	var viaL4, viaL4u, viaL7 target
	viaL4.url, viaL4.pids = proxy(l4, "-quiet-conns")
	viaL4u.url, viaL4u.pids = proxy(l4, "-quiet-conns", "-copy", "user")
	viaL7.url, viaL7.pids = proxy(l7, "-quiet-requests")
	viaL4.name, viaL4u.name, viaL7.name = "l4-lb", "l4-lb, user-space copy", "l7-lb"
	r := &rig{requests: []target{direct, viaL4, viaL7},
		bulk: []target{direct, viaL4, viaL4u, viaL7}}
	if addr, pid := startHAProxy(tb, "tcp", addrs); pid != 0 {
		t := target{"haproxy (mode tcp)", "http://" + addr, append([]int{pid}, pids...)}
		r.requests = append(r.requests, t)
		r.bulk = append(r.bulk, t)
		addr, pid = startHAProxy(tb, "http", addrs)
		r.requests = append(r.requests, target{"haproxy (mode http)", "http://" + addr,
			append([]int{pid}, pids...)})
	}
	return r
}

// reqStats is what a request load measured.
type reqStats struct {
	RPS      float64
	P50, P99 time.Duration
	CPU      time.Duration // server-side CPU per request
	Errors   int
}

// requests sends load GET / requests to t over keep-alive connections,
// one per worker.
func requests(ctx context.Context, t target, load timing.Load) (reqStats, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: load.Workers, MaxConnsPerHost: load.Workers,
		DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	cpu0, err := cpuTime(t.pids)
	if err != nil {
		return reqStats{}, err
	}
	res, err := load.Run(ctx, func(ctx context.Context, _ int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url+"/", nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = errors.New(resp.Status)
		}
		return err
	})
	if err != nil {
		return reqStats{}, err
	}
	cpu1, err := cpuTime(t.pids)
	if err != nil {
		return reqStats{}, err
	}
	st := reqStats{RPS: res.Throughput, P50: res.Latency.P50, P99: res.Latency.P99,
		Errors: res.Errors}
	if res.Requests > 0 {
		st.CPU = (cpu1 - cpu0) / time.Duration(res.Requests)
	}
	if res.Errors > 0 {
		return st, fmt.Errorf("%s: %d errors, first %v", t.name, res.Errors, res.FirstError)
	}
	return st, nil
}

// bulk downloads n bytes from t on a fresh connection and returns the
// rate and the server-side CPU spent.
func bulk(ctx context.Context, t target, n int64) (float64, time.Duration, error) {
	tr := &http.Transport{DisableKeepAlives: true, DisableCompression: true}
	c := &http.Client{Transport: tr}
	cpu0, err := cpuTime(t.pids)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("%s/bulk?bytes=%d", t.url, n), nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	buf := make([]byte, 1<<20)
	var got int64
	for {
		k, err := resp.Body.Read(buf)
		got += int64(k)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, err
		}
	}
	d := time.Since(start)
	cpu1, err := cpuTime(t.pids)
	if err != nil {
		return 0, 0, err
	}
	if got != n {
		return 0, 0, fmt.Errorf("%s: got %d bytes, want %d", t.name, got, n)
	}
	return float64(n) / d.Seconds() / 1e6, cpu1 - cpu0, nil
}

// parallelBulk downloads n bytes on each of k connections at once and
// returns the total rate.
func parallelBulk(ctx context.Context, t target, k int, n int64) (float64, error) {
	start := time.Now()
	errs := make(chan error, k)
	for range k {
		go func() {
			_, _, err := bulk(ctx, t, n)
			errs <- err
		}()
	}
	var first error
	for range k {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return float64(k) * float64(n) / time.Since(start).Seconds() / 1e6, first
}

// wrk runs wrk against t, if installed, and returns its req/s and p50/p99.
func wrk(ctx context.Context, t target, conns int, d time.Duration) (reqStats, bool, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return reqStats{}, false, nil
	}
	cpu0, err := cpuTime(t.pids)
	if err != nil {
		return reqStats{}, true, err
	}
	out, err := exec.CommandContext(ctx, bin, "-t2", "-c"+strconv.Itoa(conns),
		"-d"+strconv.Itoa(int(d.Seconds()))+"s", "--latency", t.url+"/").Output()
	if err != nil {
		return reqStats{}, true, fmt.Errorf("wrk: %w", err)
	}
	cpu1, _ := cpuTime(t.pids)
	var st reqStats
	var total int64
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			st.RPS, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "50%":
			st.P50, _ = time.ParseDuration(strings.Replace(f[1], "us", "µs", 1))
		case len(f) == 2 && f[0] == "99%":
			st.P99, _ = time.ParseDuration(strings.Replace(f[1], "us", "µs", 1))
		case len(f) >= 2 && f[1] == "requests":
			total, _ = strconv.ParseInt(f[0], 10, 64)
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx"):
			return st, true, fmt.Errorf("wrk: %s", strings.TrimSpace(line))
		}
	}
	if total > 0 {
		st.CPU = (cpu1 - cpu0) / time.Duration(total)
	}
	return st, true, nil
}

const (
	workers   = 16
	bulkBytes = 256 << 20
	rounds    = 5 // each target measured once per round, rounds interleaved
	streams   = 4 // parallel bulk connections, for the throughput at saturation
)

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }

// median returns the middle of xs (the upper middle for an even count).
func median[T int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// samples collects one measure per round for each target.
type samples struct {
	rps, p50, p99, cpu map[string][]float64
}

func newSamples() *samples {
	return &samples{map[string][]float64{}, map[string][]float64{},
		map[string][]float64{}, map[string][]float64{}}
}

func (s *samples) add(name string, st reqStats) {
	s.rps[name] = append(s.rps[name], st.RPS)
	s.p50[name] = append(s.p50[name], float64(st.P50))
	s.p99[name] = append(s.p99[name], float64(st.P99))
	s.cpu[name] = append(s.cpu[name], float64(st.CPU))
}

func (s *samples) median(name string) reqStats {
	return reqStats{RPS: median(s.rps[name]), P50: time.Duration(median(s.p50[name])),
		P99: time.Duration(median(s.p99[name])), CPU: time.Duration(median(s.cpu[name]))}
}

// BenchmarkCompare measures, for each target, the request rate, latency
// and server CPU per request under 16 keep-alive clients, and the bulk
// throughput of one connection and its server CPU per GB. The targets
// take turns, round after round, so that load from elsewhere on the
// machine falls on all of them alike; the table shows medians. It runs
// once whatever -benchtime says.
func BenchmarkCompare(b *testing.B) {
	r := newRig(b)
	ctx := context.Background()
	reqs, wrks := newSamples(), newSamples()
	mbs, perGB, par := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	_, haveWrk := exec.LookPath("wrk")
	for range rounds {
		for _, t := range r.requests {
			st, err := requests(ctx, t, timing.Load{Workers: workers, Duration: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			reqs.add(t.name, st)
			if haveWrk == nil {
				st, _, err := wrk(ctx, t, workers, time.Second)
				if err != nil {
					b.Fatal(err)
				}
				wrks.add(t.name, st)
			}
		}
		for _, t := range r.bulk {
			var cpu time.Duration
			start := time.Now()
			const n = 3
			for range n {
				_, c, err := bulk(ctx, t, bulkBytes)
				if err != nil {
					b.Fatal(err)
				}
				cpu += c
			}
			gb := float64(n) * bulkBytes / 1e9
			mbs[t.name] = append(mbs[t.name], gb*1e3/time.Since(start).Seconds())
			perGB[t.name] = append(perGB[t.name], float64(cpu)/gb)
			rate, err := parallelBulk(ctx, t, streams, bulkBytes/2)
			if err != nil {
				b.Fatal(err)
			}
			par[t.name] = append(par[t.name], rate)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%d keep-alive clients, GET / (the backend's name), medians of %d rounds:\n\n", workers, rounds)
	fmt.Fprintf(&sb, "| path | req/s | p50 | p99 | server CPU per request |")
	if haveWrk == nil {
		fmt.Fprintf(&sb, " wrk req/s | wrk p50 | wrk p99 |")
	}
	fmt.Fprintf(&sb, "\n|---|---|---|---|---|%s\n", map[bool]string{true: "---|---|---|"}[haveWrk == nil])
	for _, t := range r.requests {
		s := reqs.median(t.name)
		fmt.Fprintf(&sb, "| %s | %.0f | %s | %s | %s |", t.name, s.RPS, us(s.P50), us(s.P99), us(s.CPU))
		if haveWrk == nil {
			w := wrks.median(t.name)
			fmt.Fprintf(&sb, " %.0f | %s | %s |", w.RPS, us(w.P50), us(w.P99))
		}
		sb.WriteString("\n")
	}
	fmt.Fprintf(&sb, "\nGET /bulk of %d MiB three times on one connection, then on %d at once, medians of %d rounds:\n\n",
		bulkBytes>>20, streams, rounds)
	fmt.Fprintf(&sb, "| path | MB/s | of direct | server CPU per GB | MB/s, %d connections | of direct |\n",
		streams)
	fmt.Fprintf(&sb, "|---|---|---|---|---|---|\n")
	direct, directPar := median(mbs["direct"]), median(par["direct"])
	for _, t := range r.bulk {
		m, p := median(mbs[t.name]), median(par[t.name])
		fmt.Fprintf(&sb, "| %s | %.0f | %.0f%% | %.0f ms | %.0f | %.0f%% |\n", t.name, m, 100*m/direct,
			median(perGB[t.name])/1e6, p, 100*p/directPar)
	}
	fmt.Print(sb.String())
	for _, name := range []string{"direct", "l4-lb", "l7-lb"} {
		b.ReportMetric(reqs.median(name).RPS, name+"-req/s")
	}
	b.ReportMetric(100*median(mbs["l4-lb"])/direct, "l4-bulk-%-of-direct")
	b.ReportMetric(100*median(par["l4-lb"])/directPar, "l4-bulk4-%-of-direct")
}

// TestCompareRig runs every part of the comparison briefly, so that the
// benchmark's processes, parsing and counters are known to work.
func TestCompareRig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the proxies as processes; skipped with -short")
	}
	if _, err := cpuTime([]int{os.Getpid()}); err != nil {
		t.Skipf("no /proc/PID/stat: %v", err)
	}
	r := newRig(t)
	ctx := context.Background()
	for _, tg := range r.requests {
		st, err := requests(ctx, tg, timing.Load{Workers: 4, Requests: 300})
		if err != nil {
			t.Fatal(err)
		}
		if st.RPS <= 0 || st.P50 <= 0 || st.P99 < st.P50 {
			t.Errorf("%s: got %+v", tg.name, st)
		}
	}
	for _, tg := range r.bulk {
		mbs, _, err := bulk(ctx, tg, 8<<20)
		if err != nil || mbs <= 0 {
			t.Errorf("%s: got %.0f MB/s, %v", tg.name, mbs, err)
		}
	}
	names := []string{}
	for _, tg := range r.requests {
		names = append(names, tg.name)
	}
	if !slices.Contains(names, "l4-lb") || !slices.Contains(names, "l7-lb") {
		t.Errorf("got targets %v", names)
	}
	// The CPU counter moves with work done.
	before, _ := cpuTime(r.requests[0].pids)
	if _, err := requests(ctx, r.requests[0], timing.Load{Workers: 4, Requests: 3000}); err != nil {
		t.Fatal(err)
	}
	if after, _ := cpuTime(r.requests[0].pids); after <= before {
		t.Errorf("server CPU did not move: %v then %v", before, after)
	}
}
