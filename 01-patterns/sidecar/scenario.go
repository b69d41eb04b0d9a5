package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// config is the sidecar's policy and the scenario's size.
type config struct {
	Attempts   int
	TryTimeout time.Duration
	Timeout    time.Duration
	Backoff    time.Duration
	MaxBackoff time.Duration
	Ratio      float64
	Min        int
	Outage     int // requests sent while the upstream is down
}

var defaults = config{Attempts: 3, TryTimeout: 300 * time.Millisecond,
	Timeout: 3 * time.Second, Backoff: 20 * time.Millisecond,
	MaxBackoff: 200 * time.Millisecond, Ratio: 0.2, Min: 3, Outage: 20}

// result is what the scenario measured.
type result struct {
	Retried      call          // through the sidecar, upstream failing twice
	RetriedUp    upstreamStats // what the upstream saw of it
	Direct       call          // the same app straight to the upstream
	DirectUp     upstreamStats
	NotRetried   call // a POST without Idempotency-Key
	NotRetriedUp upstreamStats
	Outage       []call // while the upstream is down
	OutageUp     upstreamStats
	Sidecar      counters // its counters at the end
}

// stack is the upstream and a sidecar process in front of it.
type stack struct {
	up       *upstream
	upRun    *demo.Running
	ca       *certs.CA
	side     *sidecarProc
	sideConf sidecarConfig
}

// startStack starts the logging service on HTTPS with a certificate from
// a fresh in-memory CA, and the sidecar process on listen.
func startStack(ctx context.Context, tl *timeline.Timeline, cfg config,
	listen string) (*stack, error) {
	s := &stack{up: newUpstream(tl)}
	var err error
	if s.ca, err = certs.NewCA(); err != nil {
		return nil, err
	}
	tlsConf, err := s.ca.ServerConfig()
	if err != nil {
		return nil, err
	}
	s.upRun, err = demo.StartHTTP(ctx, &http.Server{Handler: s.up.handler(),
		TLSConfig: tlsConf, ReadHeaderTimeout: 10 * time.Second}, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tl.Note("upstream", "logging service on %s (TLS, certificate from an in-memory CA)",
		s.upRun.URL)
	s.sideConf = sidecarConfig{Listen: listen, Upstream: s.upRun.URL,
		CAPEM: string(s.ca.PEM()), Caller: "orders", Attempts: cfg.Attempts,
		TryTimeout: cfg.TryTimeout, Timeout: cfg.Timeout, Backoff: cfg.Backoff,
		MaxBackoff: cfg.MaxBackoff, BudgetRatio: cfg.Ratio, BudgetMin: cfg.Min}
	if s.side, err = startSidecar(ctx, tl, s.sideConf); err != nil {
		s.upRun.Close()
		return nil, err
	}
	tl.Note("demo", "sidecar is process %d on %s: only the CA certificate crossed, on its stdin",
		s.side.PID, s.side.URL)
	return s, nil
}

func (s *stack) close() error {
	err := s.side.Close()
	if uerr := s.upRun.Close(); err == nil {
		err = uerr
	}
	return err
}

// counters reads the sidecar's counters over HTTP.
func (s *stack) counters(ctx context.Context) (counters, error) {
	var c counters
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.side.URL+statsPath, nil)
	if err != nil {
		return c, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&c)
	return c, err
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (res result, err error) {
	s, err := startStack(ctx, tl, cfg, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := s.close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	// The app's client: plain HTTP to localhost, nothing else.
	plain := &http.Transport{}
	defer plain.CloseIdleConnections()
	viaSidecar := &app{base: s.side.URL, hc: &http.Client{Transport: plain}, tl: tl,
		to: "sidecar"}

	tl.Printf("")
	tl.Printf("== the app logs 4 through its sidecar; the upstream fails twice")
	tl.Printf("   (503, then it logs but holds its answer past the %v per-try timeout)",
		cfg.TryTimeout)
	s.up.failNext(fail503, failSlow)
	if res.Retried, err = viaSidecar.logSquare(ctx, 4, true); err != nil {
		return res, err
	}
	if err := s.side.waitLogged(ctx, 1); err != nil {
		return res, err
	}
	viaSidecar.show(res.Retried)
	res.RetriedUp = s.up.stats()
	tl.Note("app", "saw one call: %d %s", res.Retried.Status, res.Retried.Body)
	tl.Note("upstream", "%d attempts, logged %d time(s), answered %d again from its key",
		res.RetriedUp.Attempts, res.RetriedUp.Logged, res.RetriedUp.Replayed)

	tl.Printf("")
	tl.Printf("== the same app straight to the upstream, set to fail twice again")
	tl.Printf("   (the app now needs TLS and the CA itself, and still has no retries)")
	direct := &http.Transport{TLSClientConfig: s.ca.ClientConfig(), ForceAttemptHTTP2: true}
	defer direct.CloseIdleConnections()
	straight := &app{base: s.upRun.URL, hc: &http.Client{Transport: direct}, tl: tl,
		to: "upstream"}
	s.up.failNext(fail503, failSlow)
	if res.Direct, err = straight.logSquare(ctx, 5, true); err != nil {
		return res, err
	}
	straight.show(res.Direct)
	res.DirectUp = s.up.stats()
	s.up.drop() // the slow fault was never reached
	tl.Note("app", "got the failure: %d; the upstream could not tell who called (X-Caller %q)",
		res.Direct.Status, firstCaller(res.DirectUp))

	tl.Printf("")
	tl.Printf("== a POST without Idempotency-Key through the sidecar; the upstream fails once")
	s.up.failNext(fail503)
	if res.NotRetried, err = viaSidecar.logSquare(ctx, 6, false); err != nil {
		return res, err
	}
	if err := s.side.waitLogged(ctx, 2); err != nil {
		return res, err
	}
	viaSidecar.show(res.NotRetried)
	res.NotRetriedUp = s.up.stats()
	tl.Note("sidecar", "did not retry: the first attempt might have logged "+
		"and nothing would stop a second")

	tl.Printf("")
	tl.Printf("== the upstream down: %d keyed requests; budget %d retries + %.0f%% of requests",
		cfg.Outage, cfg.Min, 100*cfg.Ratio)
	quiet := &app{base: s.side.URL, hc: &http.Client{Transport: plain},
		tl: timeline.Quiet(), to: "sidecar"}
	// Twenty requests' worth of log lines: the counters tell it better.
	s.side.mute.Store(true)
	s.up.quiet.Store(true)
	defer s.side.mute.Store(false)
	defer s.up.quiet.Store(false)
	for range cfg.Outage * cfg.Attempts {
		s.up.failNext(fail503)
	}
	for i := range cfg.Outage {
		c, err := quiet.logSquare(ctx, 100+i, true)
		if err != nil {
			return res, err
		}
		res.Outage = append(res.Outage, c)
	}
	s.up.drop()
	res.OutageUp = s.up.stats()
	if res.Sidecar, err = s.counters(ctx); err != nil {
		return res, err
	}
	tl.Note("upstream", "%d requests became %d attempts (without a budget: up to %d)",
		cfg.Outage, res.OutageUp.Attempts, cfg.Outage*cfg.Attempts)

	tl.Printf("")
	tl.Printf("== the sidecar's counters (GET %s)", statsPath)
	c := res.Sidecar
	for _, row := range []struct {
		name string
		n    int
	}{
		{"requests from the app", c.Requests}, {"attempts to the upstream", c.Attempts},
		{"retries", c.Retries}, {"per-try timeouts", c.Timeouts},
		{"upstream 502/503/504", c.Upstream5xx}, {"no answer at all", c.ConnErrors},
		{"not retried: no Idempotency-Key", c.NotRetried},
		{"not retried: budget spent", c.BudgetDenied},
	} {
		tl.Printf("  %-34s %4d", row.name, row.n)
	}
	tl.Printf("  %-34s %v", "statuses the app got", c.Responses)
	return res, nil
}

func firstCaller(st upstreamStats) string {
	for c := range st.Callers {
		return c
	}
	return ""
}
