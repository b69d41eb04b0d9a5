package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/peer"
	"backend-protocols/internal/timeline"
)

// TestBrowserEventSource loads the embedded page in headless Chromium. The
// server hangs up every 5 events; the browser's own EventSource must
// reconnect with Last-Event-ID and receive 12 events with no gap.
func TestBrowserEventSource(t *testing.T) {
	if peer.ChromiumPath() == "" {
		t.Skip("chromium not installed")
	}
	// A browser may take its time to reconnect; keep enough events that
	// none is lost meanwhile, so any gap is a bug.
	cfg := fast
	cfg.Buffer = 1000
	h := newHub(cfg, timeline.Quiet())
	defer h.close()
	reports := make(chan []byte, 1)
	srv, err := newServer(h, reports, nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := demo.StartHTTP(context.Background(), srv, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	b, err := peer.OpenBrowser(context.Background(), run.URL+"/?drop=5&report=12")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var raw []byte
	select {
	case raw = <-reports:
	case <-b.Exited():
		t.Fatalf("browser exited:\n%s", b.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("no report from the page:\n%s", b.Log())
	}
	var rep struct {
		Events []struct{ ID, Type, Data string }
		Opens  int
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report %q: %v", raw, err)
	}
	var session string
	for i, e := range rep.Events {
		sid, n, ok := parseID(e.ID)
		if !ok || n != i || (session != "" && sid != session) {
			t.Fatalf("event %d has id %q; want one session counting from 0: %+v", i, e.ID, rep.Events)
		}
		session = sid
		want := eventFor(n)
		if e.Type != want.typ || e.Data != want.data {
			t.Errorf("event %d: got %s %q, want %s %q", i, e.Type, e.Data, want.typ, want.data)
		}
	}
	if !strings.Contains(rep.Events[4].Data, "\n") {
		t.Errorf("milestone data %q lost its line break", rep.Events[4].Data)
	}
	if rep.Opens < 3 || h.resumes.Load() < 2 {
		t.Errorf("got %d connections and %d resumes, want 3 connections resumed by Last-Event-ID",
			rep.Opens, h.resumes.Load())
	}
}
