package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"backend-protocols/01-patterns/sse/eventsource"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

func TestScenario(t *testing.T) {
	res, err := scenario(context.Background(), timeline.Quiet(), fast)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Resume.IDs); n != 9 {
		t.Errorf("resume: got %d events, want 3 before and 6 after", n)
	}
	// Away while the server made events 3 to 6: all four wait in the
	// buffer and are replayed when the client is back.
	if res.Resume.Replayed < 4 {
		t.Errorf("resume: got %d events replayed at once, want the missed ones", res.Resume.Replayed)
	}
	if len(res.Drops.IDs) != 8 || res.Drops.Reconnects != 2 {
		t.Errorf("drops: got %d events and %d reconnects, want 8 and 2 (3+3+2)",
			len(res.Drops.IDs), res.Drops.Reconnects)
	}
	if res.Drops.Wait < fast.Retry {
		t.Errorf("drops: reconnected after %v, want at least retry: %v", res.Drops.Wait, fast.Retry)
	}
	sa, _, _ := parseID(res.Gap.Before)
	sb, _, _ := parseID(res.Gap.After)
	if sa != sb || res.Gap.Missing < 1 {
		t.Errorf("gap: got %s then %s (%d missing), want a jump within one session",
			res.Gap.Before, res.Gap.After, res.Gap.Missing)
	}
	if res.H2.Proto != "HTTP/2.0" || len(res.H2.IDs) != 3 {
		t.Errorf("h2: got %s with %d events, want HTTP/2.0 with 3", res.H2.Proto, len(res.H2.IDs))
	}
	// drop=2: the preamble, two events and the empty END_STREAM frame, at
	// least; HTTP/2 may split or join writes differently.
	if res.DataFrames < 3 {
		t.Errorf("h2c: got %d DATA frames, want at least 3", res.DataFrames)
	}
	if res.Sessions != 0 {
		t.Errorf("got %d sessions after the grace period, want 0", res.Sessions)
	}
}

// startHub serves a hub on loopback over HTTP/1.1 and h2c.
func startHub(t *testing.T, cfg config) (*hub, string) {
	t.Helper()
	h := newHub(cfg, timeline.Quiet())
	srv, err := newServer(h, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := demo.StartHTTP(context.Background(), srv, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := run.Close(); err != nil {
			t.Error(err)
		}
		h.close()
	})
	return h, run.URL
}

func TestEveryClientHasItsOwnCounter(t *testing.T) {
	_, base := startHub(t, fast)
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	type got struct {
		evs []received
		err error
	}
	results := make(chan got, 2)
	for _, name := range []string{"a", "b"} {
		go func() {
			c := newStreamClient(name, hc, base+"/stream", timeline.Quiet())
			evs, _, err := c.connect(context.Background(), 3)
			results <- got{evs, err}
		}()
	}
	var sids []string
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		sid, ns := seq(r.evs)
		if !contiguous(ns, 0) {
			t.Errorf("got event numbers %v, want 0 1 2 for every client", ns)
		}
		sids = append(sids, sid)
	}
	if sids[0] == sids[1] {
		t.Errorf("two clients share session %s", sids[0])
	}
}

// TestLeavingLeaksNothing: clients that hang up leave no goroutine, no
// open stream and, after the grace period, no session or timer.
func TestLeavingLeaksNothing(t *testing.T) {
	cfg := fast
	cfg.Grace = 50 * time.Millisecond
	h, base := startHub(t, cfg)
	tr := &http.Transport{}
	hc := &http.Client{Transport: tr}
	for range 20 {
		c := newStreamClient("c", hc, base+"/stream", timeline.Quiet())
		if _, _, err := c.connect(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.streams.Load(); n > 20 {
		t.Fatalf("got %d streams open", n)
	}
	tr.CloseIdleConnections()
	left := leak.Gone(5*time.Second, "net/http.(*conn).serve", "(*hub).stream")
	err := waitFor(5*time.Second, func() bool {
		return h.streams.Load() == 0 && h.sessionCount() == 0
	})
	if err != nil || len(left) > 0 {
		t.Errorf("got %d streams, %d sessions after every client left (%v); still serving:\n%s",
			h.streams.Load(), h.sessionCount(), err, strings.Join(left, "\n\n"))
	}
}

// TestNewConnectionTakesOverSession: a client that reconnects while its
// old connection still looks alive gets the session; the old stream ends.
func TestNewConnectionTakesOverSession(t *testing.T) {
	_, base := startHub(t, fast)
	resp, err := http.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := eventsource.NewDecoder(resp.Body)
	if _, err := dec.Next(); err != nil {
		t.Fatal(err)
	}
	c := newStreamClient("new", http.DefaultClient, base+"/stream", timeline.Quiet())
	c.lastID = dec.LastEventID()
	evs, _, err := c.connect(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	sidOld, _, _ := parseID(c.lastID)
	if sid, _ := seq(evs); sid != sidOld {
		t.Errorf("got session %s, want %s taken over", sid, sidOld)
	}
	// The old stream ends (possibly after an event already in flight).
	for {
		if _, err = dec.Next(); err != nil {
			break
		}
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("old stream: got %v, want it ended", err)
	}
}

func TestBadRequests(t *testing.T) {
	cfg := fast
	cfg.MaxSessions = 1
	_, base := startHub(t, cfg)
	resp, err := http.Get(base + "/stream?drop=zero")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("drop=zero: got %d, want 400", resp.StatusCode)
	}
	first, err := http.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Body.Close()
	resp, err = http.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("beyond MaxSessions: got %d, want 503", resp.StatusCode)
	}
}

func TestParseID(t *testing.T) {
	if sid, n, ok := parseID(eventID("ab12", 7)); sid != "ab12" || n != 7 || !ok {
		t.Errorf("got %q %d %v, want ab12 7 true", sid, n, ok)
	}
	// Malformed ids are not errors: they start a new session.
	for _, id := range []string{"", "x", ".5", "abc.-1", "abc.1x", "abc.99999999999999999999"} {
		if _, _, ok := parseID(id); ok {
			t.Errorf("parseID(%q) accepted", id)
		}
	}
}

// TestCurl streams to curl -N, as a reader would.
func TestCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, timeline.Quiet(), fast, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	for _, proto := range []string{"--http1.1", "--http2-prior-knowledge"} {
		cmd := exec.Command("curl", "-sN", proto, "http://"+ln.Addr().String()+"/stream?drop=3")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %s: %v", proto, err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		var data []string
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				data = append(data, d)
			}
		}
		if !strings.HasPrefix(string(out), "retry: 50\n") || len(data) != 3 ||
			data[0] != "hello from server ---- [0]" {
			t.Errorf("curl %s: got %q", proto, out)
		}
	}
}

// TestKeepAlive: an idle stream gets comment lines, which a client's
// decoder skips, so proxies do not time the connection out.
func TestKeepAlive(t *testing.T) {
	cfg := fast
	cfg.Tick, cfg.KeepAlive = time.Hour, 20*time.Millisecond
	_, base := startHub(t, cfg)
	resp, err := http.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	comments := 0
	for comments < 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == ": keep-alive\n" {
			comments++
		} else if strings.HasPrefix(line, "data:") {
			t.Fatalf("got %q on a stream with no events due", line)
		}
	}
}

// TestConnectMode drives the server with -connect's client.
func TestConnectMode(t *testing.T) {
	_, base := startHub(t, fast)
	tl := timeline.Quiet()
	if err := connect(context.Background(), tl, strings.TrimPrefix(base, "http://"), 3); err != nil {
		t.Fatal(err)
	}
	got := tl.Find(func(e timeline.Event) bool { return e.To == "client" && strings.HasPrefix(e.Text, "id: ") })
	if len(got) != 3 {
		t.Errorf("got %d events, want 3", len(got))
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
