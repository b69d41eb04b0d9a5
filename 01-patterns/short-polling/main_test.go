package main

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

func TestShortPollingIsChatty(t *testing.T) {
	cfg := config{Tick: 40 * time.Millisecond, Poll: 8 * time.Millisecond}
	rep, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rep.Seen); n == 0 || rep.Seen[n-1] != 100 {
		t.Fatalf("got progress %v, want it to end at 100", rep.Seen)
	}
	if !slices.IsSorted(rep.Seen) {
		t.Errorf("got progress %v, want it never to go back", rep.Seen)
	}
	for _, p := range rep.Seen {
		if p%10 != 0 {
			t.Errorf("got progress %d, want steps of 10", p)
		}
	}
	// Polling five times per tick, about four answers in five are wasted.
	if rep.News < 1 || rep.News > 10 {
		t.Errorf("got %d answers with news, want 1..10", rep.News)
	}
	if rep.Wasted() < rep.News {
		t.Errorf("got %d wasted polls and %d with news; want more wasted",
			rep.Wasted(), rep.News)
	}
	// A change waits for the next poll: never much longer than the interval.
	for _, d := range rep.Delays {
		if d < 0 || d > cfg.Poll+100*time.Millisecond {
			t.Errorf("got change-to-client delay %v with a %v poll", d, cfg.Poll)
		}
	}
}

// TestServeAnswersCurl checks -serve against curl, the course's client.
func TestServeAnswersCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, ln, timeline.Quiet(),
			config{Tick: time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	base := "http://" + ln.Addr().String()
	curl := func(args ...string) string {
		out, err := exec.Command("curl", append([]string{"-sS"}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		return string(out)
	}
	body := curl("-X", "POST", base+"/submit")
	id := regexp.MustCompile(`^\n\n(job:\d+)\n\n$`).FindStringSubmatch(body)
	if id == nil {
		t.Fatalf("POST /submit: got %q, want \\n\\njob:<ms>\\n\\n", body)
	}
	status := regexp.MustCompile(`^\n\nJobStatus: (\d+)%\n\n$`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		body = curl(base + "/checkstatus?jobId=" + id[1])
		m := status.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("GET /checkstatus: got %q", body)
		}
		if m[1] == "100" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job stuck at %s%%", m[1])
		}
	}
	code := curl("-o", "/dev/null", "-w", "%{http_code}",
		base+"/checkstatus?jobId=job:1")
	if code != "404" {
		t.Errorf("unknown job: got %s, want 404", code)
	}
}
