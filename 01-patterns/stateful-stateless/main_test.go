package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

func TestScenario(t *testing.T) {
	// Lines far apart enough that the reset lands mid-response even
	// when a loaded machine is slow to act on line 10.
	cfg := config{TTL: time.Hour, Lines: 100, Every: 5 * time.Millisecond, Cut: 10}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if left := leak.Gone(5*time.Second, "net/http.(*conn).serve",
			"(*instance).report"); len(left) > 0 {
			t.Errorf("still serving after the scenario:\n%s", strings.Join(left, "\n\n"))
		}
	})
	if len(res.Stories) != 3 {
		t.Fatalf("got %d stories, want 3", len(res.Stories))
	}
	// want: the status of the next request on the other instance, on the
	// same one, after a restart of both, after logout (0: not asked).
	want := map[mode][4]int{
		stateful: {401, 200, 401, 0},
		token:    {200, 200, 200, 200}, // a token outlives its logout
		store:    {200, 200, 200, 401},
	}
	for _, s := range res.Stories {
		w := want[s.Mode]
		got := [4]int{s.Other.Status, s.Same.Status, s.AfterRestart.Status,
			s.AfterLogout.Status}
		if got != w {
			t.Errorf("%s: got statuses %v, want %v", s.Mode, got, w)
		}
		if s.Login.Instance == "" || s.Other.Instance == s.Login.Instance ||
			s.Same.Instance != s.Login.Instance {
			t.Errorf("%s: logged in on %q, then %q and %q; want the other instance, "+
				"then the same", s.Mode, s.Login.Instance, s.Other.Instance, s.Same.Instance)
		}
	}
	if e := res.Stories[0].Other.Error; !strings.Contains(e, "no such session on instance") {
		t.Errorf("stateful on the other instance: got reason %q", e)
	}

	t.Run("forgeries", func(t *testing.T) {
		fs := forgeries(&Signer{Key: []byte("k")}, (&Signer{Key: []byte("k"),
			TTL: time.Hour}).Sign("alice"))
		if len(res.Refused) != len(fs) {
			t.Fatalf("got %d refusals, want %d", len(res.Refused), len(fs))
		}
		on := map[string]int{}
		for i, r := range res.Refused {
			on[r.Instance]++
			if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Reason, fs[i].Want.Error()) {
				t.Errorf("%s: got %d %q, want 401 %q", r.Name, r.Status, r.Reason, fs[i].Want)
			}
		}
		if on["a"] == 0 || on["b"] == 0 {
			t.Errorf("refused on %v, want both instances", on)
		}
	})

	t.Run("one connection", func(t *testing.T) {
		w := res.Wire
		var got []int
		for _, c := range w.Calls {
			got = append(got, c.Status)
		}
		if len(got) != 3 || got[0] != 200 || got[1] != 401 || got[2] != 200 {
			t.Errorf("got %v, want [200 401 200]: each request stands alone", got)
		}
		if w.Conns != 1 || w.Requests != 3 {
			t.Errorf("balancer counted %d connections, %d requests; want 1 and 3",
				w.Conns, w.Requests)
		}
		if !errors.Is(w.Cut, syscall.ECONNRESET) {
			t.Errorf("cut connection: got %v, want connection reset by peer", w.Cut)
		}
		if w.LinesBefore < cfg.Cut || w.LinesBefore >= cfg.Lines {
			t.Errorf("got %d lines before the reset, want %d..%d", w.LinesBefore,
				cfg.Cut, cfg.Lines-1)
		}
		if w.RetryLines != cfg.Lines || w.ConnsAfter != 2 {
			t.Errorf("retry: got %d lines, %d connections in all; want %d and 2",
				w.RetryLines, w.ConnsAfter, cfg.Lines)
		}
	})
}

// TestChallenges checks the 401's WWW-Authenticate header (RFC 6750
// section 3): no error code when no credential came, invalid_token and
// a reason when a bad one did.
func TestChallenges(t *testing.T) {
	s := &Signer{Key: []byte("key"), TTL: time.Hour}
	in := &instance{name: "a", cfg: appConfig{Mode: token, Signer: s}, tl: timeline.Quiet()}
	ts := httptest.NewServer(in.handler())
	defer ts.Close()
	for _, c := range []struct {
		auth, want string
		status     int
	}{
		{"", `Bearer realm="demo"`, 401},
		{"Basic YTpi", `Bearer realm="demo"`, 401},
		{"Bearer x.y.z", `Bearer realm="demo", error="invalid_token", error_description="malformed token: header: illegal base64 data at input byte 0"`, 401},
		{"Bearer " + s.Sign("alice"), "", 200},
		{"bearer " + s.Sign("alice"), "", 200}, // the scheme is case-insensitive
	} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/me", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != c.status || got != c.want {
			t.Errorf("%q: got %d %q, want %d %q", c.auth, resp.StatusCode, got, c.status, c.want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	s := &Signer{Key: []byte("key"), TTL: time.Hour}
	in := &instance{name: "a", cfg: appConfig{Mode: token, Signer: s}, tl: timeline.Quiet()}
	ts := httptest.NewServer(in.handler())
	defer ts.Close()
	tok := s.Sign("alice")
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/login", "user=", 400},
		{"POST", "/login", "user=Robert');DROP", 400},
		{"POST", "/login", "user=" + strings.Repeat("a", 40), 400},
		{"POST", "/login", "user=" + strings.Repeat("a", 8<<10), 400},
		{"GET", "/login", "", 405},
		{"GET", "/report?lines=0&every=1ms", "", 400},
		{"GET", "/report?lines=10&every=2s", "", 400},
		{"GET", "/report?lines=x", "", 400},
		{"GET", "/report?lines=2&every=0s", "", 200},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s %.20q: got %d, want %d", c.method, c.path, c.body,
				resp.StatusCode, c.want)
		}
	}
}

func TestStore(t *testing.T) {
	ts := httptest.NewServer(newSessionStore().handler())
	defer ts.Close()
	c := &storeClient{base: ts.URL, hc: ts.Client()}
	ctx := context.Background()
	id := newSessionID()
	if err := c.put(ctx, id, "alice", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		_, err := c.get(ctx, id)
		if errors.Is(err, errNoSession) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a session with a 1ms TTL still there after a second: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := c.get(ctx, "../etc"); !errors.Is(err, errNoSession) {
		t.Errorf("bad id: got %v, want no session", err)
	}
	if err := c.put(ctx, "nothex", "alice", time.Hour); err == nil {
		t.Error("bad id stored")
	}
	if err := c.put(ctx, id, "Alice Smith", time.Hour); err == nil {
		t.Error("bad user stored")
	}
}

// startServe runs -serve in mode m on a free port.
func startServe(t *testing.T, m mode) string {
	t.Helper()
	ln, err := demo.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, timeline.Quiet(), ln, m, time.Hour) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	// The listener is open: requests wait in its backlog until the
	// balancer serves them.
	return "http://" + ln.Addr().String()
}

// TestCurl drives -serve with curl and a cookie jar, as the package
// comment suggests.
func TestCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	jar := filepath.Join(t.TempDir(), "jar")
	for _, c := range []struct {
		m    mode
		want string // /me, /me, restart, /me, /me
	}{
		{stateful, "401 200 200 401 401"},
		{token, "200 200 200 200 200"},
		{store, "200 200 200 200 200"},
	} {
		base := startServe(t, c.m)
		curl := func(args ...string) string {
			out, err := exec.Command("curl", append([]string{"-s", "-o", "/dev/null",
				"-w", "%{http_code}", "-c", jar, "-b", jar}, args...)...).Output()
			if err != nil {
				t.Fatalf("curl %v: %v", args, err)
			}
			return string(out)
		}
		if got := curl("-d", "user=alice", base+"/login"); got != "200" {
			t.Fatalf("%s: login got %s", c.m, got)
		}
		var got []string
		got = append(got, curl(base+"/me"), curl(base+"/me"))
		got = append(got, curl("-X", "POST", base+"/lb/restart"))
		got = append(got, curl(base+"/me"), curl(base+"/me"))
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("%s: got %s, want %s", c.m, s, c.want)
		}
	}
}

func TestConnect(t *testing.T) {
	base := startServe(t, store)
	got, err := connect(context.Background(), timeline.Quiet(), base)
	if err != nil {
		t.Fatal(err)
	}
	on := map[string]int{}
	for _, r := range got[1:] {
		if r.Status != 200 || r.User != "alice" {
			t.Errorf("got %v, want 200 alice", r)
		}
		on[r.Instance]++
	}
	if on["a"] != 2 || on["b"] != 2 {
		t.Errorf("answered by %v, want a and b twice each", on)
	}
}

func TestServeRefusesUnknownMode(t *testing.T) {
	ln, err := demo.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = serve(context.Background(), timeline.Quiet(), ln, "sticky", time.Hour)
	if err == nil || !strings.Contains(err.Error(), "unknown -mode") {
		t.Errorf("got %v, want an unknown mode error", err)
	}
}
