package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/certs"
	"backend-protocols/internal/timeline"
)

// TestMain lets the test binary be the sidecar process too: the scenario
// starts os.Executable() with childEnv set, and here that is this binary.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runSidecar(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestScenario(t *testing.T) {
	cfg := defaults
	// Room for a normal attempt on a loaded machine under -race: only
	// the injected stall may hit the per-try timeout.
	cfg.TryTimeout = 600 * time.Millisecond
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("retried through the sidecar", func(t *testing.T) {
		if res.Retried.Status != 200 || res.Retried.Body != `{"success":true}` {
			t.Errorf("app got %d %q, want 200 {\"success\":true}", res.Retried.Status,
				res.Retried.Body)
		}
		up := res.RetriedUp
		if up.Attempts != 3 || up.Failed != 2 || up.Logged != 1 || up.Replayed != 1 {
			t.Errorf("upstream: got %d attempts, %d failed, %d logged, %d replayed; "+
				"want 3, 2, 1, 1", up.Attempts, up.Failed, up.Logged, up.Replayed)
		}
		if up.Callers["orders"] != 3 {
			t.Errorf("upstream saw callers %v, want X-Caller orders on all 3", up.Callers)
		}
		// The second attempt was held past the per-try timeout.
		if res.Retried.Took < cfg.TryTimeout {
			t.Errorf("app waited %v, want at least the per-try timeout %v",
				res.Retried.Took, cfg.TryTimeout)
		}
	})
	t.Run("straight to the upstream", func(t *testing.T) {
		if res.Direct.Status != 503 || res.DirectUp.Attempts != 1 {
			t.Errorf("got %d after %d attempts, want the 503 after 1", res.Direct.Status,
				res.DirectUp.Attempts)
		}
		if n := res.DirectUp.Callers[""]; n != 1 {
			t.Errorf("upstream saw callers %v, want one without X-Caller", res.DirectUp.Callers)
		}
	})
	t.Run("not idempotent", func(t *testing.T) {
		if res.NotRetried.Status != 503 || res.NotRetriedUp.Attempts != 1 {
			t.Errorf("got %d after %d attempts, want the 503 after 1 (no retry)",
				res.NotRetried.Status, res.NotRetriedUp.Attempts)
		}
	})
	c := res.Sidecar
	t.Run("retry budget", func(t *testing.T) {
		for i, o := range res.Outage {
			if o.Status != 503 {
				t.Errorf("outage request %d: got %d, want 503", i, o.Status)
			}
		}
		retried := res.OutageUp.Attempts - cfg.Outage
		limit := float64(cfg.Min) + cfg.Ratio*float64(c.Requests)
		if float64(c.Retries) > limit || c.Retries < int(limit)-1 {
			t.Errorf("got %d retries for %d requests, want about %.1f (%d + %.0f%%)",
				c.Retries, c.Requests, limit, cfg.Min, 100*cfg.Ratio)
		}
		if retried < 1 || c.BudgetDenied < cfg.Outage/2 {
			t.Errorf("outage: %d retries, %d refused by the budget; want some of each",
				retried, c.BudgetDenied)
		}
	})
	t.Run("counters", func(t *testing.T) {
		want := counters{Requests: 2 + cfg.Outage, Retries: 2 + res.OutageUp.Attempts - cfg.Outage,
			Timeouts: 1, NotRetried: 1}
		want.Attempts = want.Requests + want.Retries
		if c.Requests != want.Requests || c.Attempts != want.Attempts ||
			c.Retries != want.Retries || c.Timeouts != want.Timeouts ||
			c.NotRetried != want.NotRetried || c.ConnErrors != 0 {
			t.Errorf("got %+v, want %+v", c, want)
		}
		if c.Responses["200"] != 1 || c.Responses["503"] != 1+cfg.Outage {
			t.Errorf("got statuses %v, want 1 x 200 and %d x 503", c.Responses, 1+cfg.Outage)
		}
	})
}

// startTestStack starts the upstream and the sidecar process, for tests
// that drive them one request at a time.
func startTestStack(t *testing.T) *stack {
	t.Helper()
	cfg := defaults
	cfg.TryTimeout = 500 * time.Millisecond // see TestScenario
	s, err := startStack(context.Background(), timeline.Quiet(), cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.close(); err != nil {
			t.Errorf("closing: %v", err)
		}
	})
	return s
}

func post(t *testing.T, url string, header http.Header, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestNoBlindRetry: a POST without Idempotency-Key whose answer was lost
// (the upstream logged, then never answered) is not sent again, so the
// square is logged once. The same request with a key is retried and
// still logged once.
func TestNoBlindRetry(t *testing.T) {
	s := startTestStack(t)
	body := `{"num": 7}`
	s.up.failNext(failSlow)
	status, _ := post(t, s.side.URL+"/log", nil, body)
	up := s.up.stats()
	if status != http.StatusGatewayTimeout || up.Attempts != 1 || up.Logged != 1 {
		t.Errorf("without a key: got %d, %d attempts, %d logged; want 504, 1, 1",
			status, up.Attempts, up.Logged)
	}
	s.up.failNext(failSlow)
	status, _ = post(t, s.side.URL+"/log", http.Header{"Idempotency-Key": {"k-7"}}, body)
	up = s.up.stats()
	if status != http.StatusOK || up.Attempts != 2 || up.Logged != 1 || up.Replayed != 1 {
		t.Errorf("with a key: got %d, %d attempts, %d logged, %d replayed; want 200, 2, 1, 1",
			status, up.Attempts, up.Logged, up.Replayed)
	}
}

func TestRetryable(t *testing.T) {
	for _, c := range []struct {
		method, key string
		want        bool
	}{
		{"GET", "", true}, {"HEAD", "", true}, {"PUT", "", true}, {"DELETE", "", true},
		{"OPTIONS", "", true}, {"POST", "", false}, {"PATCH", "", false},
		{"POST", "abc", true}, {"PATCH", "abc", true},
	} {
		r := httptest.NewRequest(c.method, "/", nil)
		if c.key != "" {
			r.Header.Set("Idempotency-Key", c.key)
		}
		if got := retryable(r); got != c.want {
			t.Errorf("%s with key %q: got %v, want %v", c.method, c.key, got, c.want)
		}
	}
}

// TestHeaders checks what the upstream receives: X-Caller set by the
// sidecar (an app cannot claim another name), Via added, hop-by-hop
// headers dropped, end-to-end ones kept.
func TestHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
	}))
	if ts.TLS, err = ca.ServerConfig(); err != nil {
		t.Fatal(err)
	}
	ts.StartTLS()
	defer ts.Close()
	s, err := newSidecar(sidecarConfig{Upstream: ts.URL, CAPEM: string(ca.PEM()),
		Caller: "orders", Attempts: 1, TryTimeout: time.Second, Timeout: time.Second},
		func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	side := httptest.NewServer(s)
	defer side.Close()
	post(t, side.URL+"/log", http.Header{
		"X-Caller":   {"admin"},
		"Connection": {"X-Secret"},
		"X-Secret":   {"for this hop only"},
		"Keep-Alive": {"timeout=5"},
		"X-Trace":    {"t-1"},
	}, "{}")
	h := <-got
	if h.Get("X-Caller") != "orders" || !strings.Contains(h.Get("Via"), "sidecar") ||
		h.Get("X-Secret") != "" || h.Get("Keep-Alive") != "" || h.Get("X-Trace") != "t-1" {
		t.Errorf("upstream got %v", h)
	}
}

// TestRefusesBadUpstream: TLS verified against the given CA only, so an
// upstream with a certificate from another CA fails, and the sidecar
// answers 502 without retrying a POST.
func TestRefusesBadUpstream(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake fails: expected
	ts.StartTLS()
	defer ts.Close()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := newSidecar(sidecarConfig{Upstream: ts.URL, CAPEM: string(ca.PEM()),
		Caller: "orders", Attempts: 3, TryTimeout: time.Second, Timeout: time.Second,
		Backoff: time.Millisecond, MaxBackoff: time.Millisecond, BudgetMin: 10},
		func(f string, a ...any) { logs.WriteString(strings.TrimSpace(f) + "\n") })
	if err != nil {
		t.Fatal(err)
	}
	side := httptest.NewServer(s)
	defer side.Close()
	status, body := post(t, side.URL+"/log", nil, "{}")
	if status != http.StatusBadGateway || !strings.Contains(body, "certificate") {
		t.Errorf("got %d %q, want 502 with a certificate error", status, body)
	}
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	if c.Attempts != 1 || c.ConnErrors != 1 {
		t.Errorf("got %d attempts, %d connection errors; want 1 and 1", c.Attempts,
			c.ConnErrors)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "10.1.2.3:80", "example.com:80", ":8080"} {
		if loopbackOnly(addr) == nil {
			t.Errorf("%s: accepted, want refused", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:80", "localhost:8080"} {
		if err := loopbackOnly(addr); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	// A real sidecar process told to listen on all interfaces refuses.
	_, err := startSidecar(context.Background(), timeline.Quiet(),
		sidecarConfig{Listen: "0.0.0.0:0"})
	if err == nil || !strings.Contains(err.Error(), "loopback only") {
		t.Errorf("got %v, want a loopback-only refusal", err)
	}
	if _, err := newSidecar(sidecarConfig{Upstream: "http://x", CAPEM: "x"}, nil); err == nil {
		t.Error("plain-HTTP upstream accepted")
	}
}

// TestOnlyTheCACrosses checks what the sidecar process is handed: the CA
// certificate, no private key.
func TestOnlyTheCACrosses(t *testing.T) {
	s := startTestStack(t)
	pem := s.sideConf.CAPEM
	if !strings.Contains(pem, "BEGIN CERTIFICATE") || strings.Contains(pem, "PRIVATE KEY") {
		t.Errorf("the sidecar was given %q", pem)
	}
}

// TestCurl drives the sidecar process with curl as the app would, as the
// package comment suggests for -serve.
func TestCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	s := startTestStack(t)
	curl := func(args ...string) string {
		out, err := exec.Command("curl", append([]string{"-sS"}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	if got := curl("-X", "POST", s.side.URL+"/admin/fail?n=2"); !strings.Contains(got, "next 2") {
		t.Fatalf("arming faults: got %q", got)
	}
	got := curl("-H", "Idempotency-Key: k1", "-d", `{"num": 4}`, s.side.URL+"/log")
	if got != `{"success":true}` {
		t.Errorf("got %q, want {\"success\":true}", got)
	}
	stats := curl(s.side.URL + statsPath)
	if !strings.Contains(stats, `"retries":2`) {
		t.Errorf("stats: got %s, want 2 retries", stats)
	}
}

func TestUpstreamBadInput(t *testing.T) {
	u := newUpstream(timeline.Quiet())
	ts := httptest.NewServer(u.handler())
	defer ts.Close()
	for body, want := range map[string]int{
		`{"num": 4}`: 200, `{"num": "4"}`: 400, `{}`: 400, `nope`: 400,
		`{"num": 1e12}`: 400, `{"num": -3}`: 200,
	} {
		if status, _ := post(t, ts.URL+"/log", nil, body); status != want {
			t.Errorf("%s: got %d, want %d", body, status, want)
		}
	}
	if status, _ := post(t, ts.URL+"/admin/fail?n=-1", nil, ""); status != 400 {
		t.Errorf("n=-1: got %d, want 400", status)
	}
}
