package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"backend-protocols/internal/certs"
)

// sidecarConfig is everything the sidecar process is told at start-up,
// on its standard input. It carries the CA certificate, never a key.
type sidecarConfig struct {
	Listen      string        `json:"listen"`   // loopback only
	Upstream    string        `json:"upstream"` // https://host:port
	CAPEM       string        `json:"ca_pem"`   // the CA to verify the upstream against
	Caller      string        `json:"caller"`   // the app's name, sent as X-Caller
	Attempts    int           `json:"attempts"` // tries per request, the first included
	TryTimeout  time.Duration `json:"try_timeout"`
	Timeout     time.Duration `json:"timeout"` // for the whole request, retries included
	Backoff     time.Duration `json:"backoff"` // before the first retry; doubles
	MaxBackoff  time.Duration `json:"max_backoff"`
	BudgetRatio float64       `json:"budget_ratio"`
	BudgetMin   int           `json:"budget_min"`
}

// statsPath is where the sidecar answers with its counters instead of
// forwarding; Envoy keeps the same on a separate admin port.
const statsPath = "/_sidecar/stats"

// maxBody bounds a request body the sidecar buffers to replay.
const maxBody = 1 << 20

// counters are what the sidecar counted, served at statsPath.
type counters struct {
	Requests     int            `json:"requests"`      // from the app
	Attempts     int            `json:"attempts"`      // to the upstream
	Retries      int            `json:"retries"`       // attempts after the first
	Timeouts     int            `json:"timeouts"`      // attempts cut by the per-try timeout
	Upstream5xx  int            `json:"upstream_5xx"`  // attempts answered 502, 503 or 504
	ConnErrors   int            `json:"conn_errors"`   // attempts with no answer at all
	NotRetried   int            `json:"not_retried"`   // failures not retried: not idempotent
	BudgetDenied int            `json:"budget_denied"` // failures not retried: budget spent
	Responses    map[string]int `json:"responses"`     // status codes the app got
}

// sidecar forwards the app's plain-HTTP requests to the upstream over
// verified TLS, adding what the app does not do itself: retries with
// backoff under a budget, timeouts, logs, counters, and X-Caller.
type sidecar struct {
	cfg      sidecarConfig
	upstream *url.URL
	rt       http.RoundTripper
	budget   *budget
	logf     func(format string, args ...any)

	mu sync.Mutex
	c  counters
}

func newSidecar(cfg sidecarConfig, logf func(string, ...any)) (*sidecar, error) {
	u, err := url.Parse(cfg.Upstream)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("upstream %q: want https://host:port", cfg.Upstream)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(cfg.CAPEM)) {
		return nil, errors.New("no CA certificate in ca_pem")
	}
	if cfg.Attempts < 1 || cfg.TryTimeout <= 0 || cfg.Timeout <= 0 || cfg.Caller == "" {
		return nil, fmt.Errorf("config: need attempts, try_timeout, timeout and caller: %+v", cfg)
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool,
			KeyLogWriter: certs.KeyLogWriter()},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: cfg.TryTimeout,
		MaxIdleConnsPerHost: 16,
	}
	return &sidecar{cfg: cfg, upstream: u, rt: tr, logf: logf,
		budget: &budget{Ratio: cfg.BudgetRatio, Min: cfg.BudgetMin,
			Window: 10 * time.Second},
		c: counters{Responses: map[string]int{}}}, nil
}

// retryable reports whether a request may be sent again: its method is
// idempotent (RFC 9110 section 9.2.2), or it carries an Idempotency-Key,
// the app's promise that the upstream will not do the work twice. A POST
// without one is never retried: the first attempt may have done the work
// even though no answer came back.
func retryable(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return r.Header.Get("Idempotency-Key") != ""
}

// attempt is the outcome of one try.
type attempt struct {
	resp    *http.Response
	err     error
	took    time.Duration
	timeout bool // the per-try timeout cut it
	cancel  context.CancelFunc
}

// failed reports whether the attempt is worth retrying: no answer, or a
// gateway's "try again" (502, 503, 504).
func (a attempt) failed() bool {
	if a.err != nil {
		return true
	}
	switch a.resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (a attempt) String() string {
	switch {
	case a.timeout:
		return "no answer within the per-try timeout"
	case a.err != nil:
		return a.err.Error()
	}
	return a.resp.Status
}

func (s *sidecar) count(f func(c *counters)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.c)
}

func (s *sidecar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == statsPath {
		s.mu.Lock()
		b, _ := json.Marshal(s.c)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(append(b, '\n'))
		return
	}
	start := time.Now()
	s.count(func(c *counters) { c.Requests++ })
	s.budget.Request()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.reply(w, r, start, 0, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	canRetry := retryable(r)
	for n := 1; ; n++ {
		a := s.try(ctx, r, body)
		s.count(func(c *counters) {
			c.Attempts++
			if n > 1 {
				c.Retries++
			}
			switch {
			case a.timeout:
				c.Timeouts++
			case a.err != nil:
				c.ConnErrors++
			case a.failed():
				c.Upstream5xx++
			}
		})
		if !a.failed() {
			s.logf("  attempt %d: %s in %.1fms", n, a, ms(a.took))
			s.forward(w, r, start, n, a)
			return
		}
		why := s.stop(ctx, n, canRetry)
		if why != "" {
			s.logf("  attempt %d: %s in %.1fms; not retried: %s", n, a, ms(a.took), why)
			if a.resp != nil {
				s.forward(w, r, start, n, a)
				return
			}
			a.cancel()
			status, msg := http.StatusBadGateway, "upstream: "+a.String()
			if a.timeout || ctx.Err() != nil {
				status = http.StatusGatewayTimeout
			}
			s.reply(w, r, start, n, status, msg)
			return
		}
		wait := s.backoff(n)
		s.logf("  attempt %d: %s in %.1fms; retry in %.1fms", n, a, ms(a.took), ms(wait))
		if a.resp != nil {
			io.Copy(io.Discard, io.LimitReader(a.resp.Body, 64<<10))
			a.resp.Body.Close()
		}
		a.cancel()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
}

// stop says why attempt n, which failed, must be the last, or "" if
// another may follow. Only a retry that will happen is taken from the
// budget.
func (s *sidecar) stop(ctx context.Context, n int, canRetry bool) string {
	switch {
	case !canRetry:
		s.count(func(c *counters) { c.NotRetried++ })
		return "not idempotent (no Idempotency-Key)"
	case n >= s.cfg.Attempts:
		return fmt.Sprintf("%d attempts made", n)
	case ctx.Err() != nil:
		return "request deadline passed or the app hung up"
	case !s.budget.Withdraw():
		s.count(func(c *counters) { c.BudgetDenied++ })
		return "retry budget spent"
	}
	return ""
}

// backoff returns the wait before retry n: Backoff doubled for each
// earlier retry, capped at MaxBackoff, with "equal jitter" (half fixed,
// half random) so that clients failing together do not retry together.
func (s *sidecar) backoff(n int) time.Duration {
	d := s.cfg.Backoff << (n - 1)
	if d > s.cfg.MaxBackoff || d <= 0 {
		d = s.cfg.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// try sends the request once, under the per-try timeout. The caller
// must call the attempt's cancel once done with its response.
func (s *sidecar) try(ctx context.Context, r *http.Request, body []byte) attempt {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.TryTimeout)
	out, err := http.NewRequestWithContext(ctx, r.Method,
		s.upstream.JoinPath(r.URL.Path).String(), bytes.NewReader(body))
	if err != nil {
		cancel()
		return attempt{err: err, cancel: func() {}}
	}
	out.URL.RawQuery = r.URL.RawQuery
	copyHeader(out.Header, r.Header)
	out.Header.Set("X-Caller", s.cfg.Caller) // who is calling: the sidecar says, not the app
	out.Header.Add("Via", fmt.Sprintf("%d.%d sidecar", r.ProtoMajor, r.ProtoMinor))
	out.ContentLength = int64(len(body))
	start := time.Now()
	resp, err := s.rt.RoundTrip(out)
	a := attempt{resp: resp, err: err, took: time.Since(start), cancel: cancel}
	if err != nil {
		a.timeout = errors.Is(ctx.Err(), context.DeadlineExceeded)
	}
	return a
}

// forward copies the attempt's response to the app.
func (s *sidecar) forward(w http.ResponseWriter, r *http.Request, start time.Time,
	attempts int, a attempt) {
	defer a.cancel()
	defer a.resp.Body.Close()
	copyHeader(w.Header(), a.resp.Header)
	w.WriteHeader(a.resp.StatusCode)
	io.Copy(w, a.resp.Body)
	s.done(r, start, attempts, a.resp.StatusCode)
}

// reply answers the app with the sidecar's own error.
func (s *sidecar) reply(w http.ResponseWriter, r *http.Request, start time.Time,
	attempts, status int, msg string) {
	http.Error(w, msg, status)
	s.done(r, start, attempts, status)
}

// done logs the request and counts its status.
func (s *sidecar) done(r *http.Request, start time.Time, attempts, status int) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = "-"
	}
	s.logf("%s %s caller=%s key=%s -> %d after %d attempt(s), %.1fms",
		r.Method, r.URL.Path, s.cfg.Caller, key, status, attempts, ms(time.Since(start)))
	// Counted after the log line is written: a reader of the counters
	// knows the line is out.
	s.count(func(c *counters) { c.Responses[fmt.Sprint(status)]++ })
}

// hopByHop are the headers that belong to one connection, not to the
// request (RFC 9110 section 7.6.1); a proxy drops them.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection",
	"Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade"}

// copyHeader copies src into dst without hop-by-hop headers, including
// those named in src's Connection header.
func copyHeader(dst, src http.Header) {
	drop := map[string]bool{}
	for _, h := range hopByHop {
		drop[h] = true
	}
	for _, v := range src.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			drop[http.CanonicalHeaderKey(strings.TrimSpace(name))] = true
		}
	}
	for k, vs := range src {
		if !drop[k] {
			dst[k] = append(dst[k][:0:0], vs...)
		}
	}
}

// loopbackOnly refuses a listen address that is not on this machine: the
// app reaches its sidecar over loopback and nothing else may.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("listen on %q: a sidecar listens on loopback only", addr)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
