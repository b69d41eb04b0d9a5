package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

func TestAsyncClientIsNeverBlocked(t *testing.T) {
	cfg := config{Job: 150 * time.Millisecond, Task: 50 * time.Millisecond, Tasks: 4}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, a := res.Sync, res.Async
	if s.Blocked < cfg.Job {
		t.Errorf("sync client blocked %v, want at least the job's %v", s.Blocked, cfg.Job)
	}
	if a.Blocked > cfg.Job/3 {
		t.Errorf("async client blocked %v, want far less than the job's %v", a.Blocked, cfg.Job)
	}
	// Sync: job then tasks, one after the other. Async: both at once.
	own := time.Duration(cfg.Tasks) * cfg.Task
	if s.Total < cfg.Job+own {
		t.Errorf("sync total %v, want at least job + tasks = %v", s.Total, cfg.Job+own)
	}
	if a.Total >= s.Total-cfg.Job/2 {
		t.Errorf("async total %v, sync %v: want async shorter by about the job", a.Total, s.Total)
	}
	if s.Result != a.Result || s.Result == "" {
		t.Errorf("got results %q and %q, want the same job result", s.Result, a.Result)
	}
}

func TestAsyncCollectsAfterPending(t *testing.T) {
	// The client's own work ends before the job: the first collect is a 202.
	cfg := config{Job: 120 * time.Millisecond, Task: 10 * time.Millisecond, Tasks: 1}
	tl := timeline.Quiet()
	res, err := scenario(context.Background(), tl, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pending := tl.Find(func(e timeline.Event) bool {
		return e.From == "server" && e.To == "async" && e.Text == "202 still running"
	})
	if len(pending) == 0 || res.Async.Result == "" {
		t.Errorf("got %d pending answers and result %q; want 202s then the result",
			len(pending), res.Async.Result)
	}
}

func TestServerErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := newServer(ctx, timeline.Quiet())
	ts := httptest.NewServer(s.handler())
	t.Cleanup(func() { ts.Close(); cancel(); s.wait() })
	cases := []struct {
		method, path string
		want         int
	}{
		{"POST", "/work?ms=abc", 400},
		{"POST", "/work?ms=-1", 400},
		{"POST", "/jobs?ms=99999999", 400},
		{"GET", "/jobs/42", 404},
		{"GET", "/work", 405},
		{"POST", "/jobs?ms=0", 202},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: got %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
	}
}

func TestJobsAreBounded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := newServer(ctx, timeline.Quiet())
	ts := httptest.NewServer(s.handler())
	t.Cleanup(func() { ts.Close(); cancel(); s.wait() })
	post := func(ms int) int {
		resp, err := http.Post(fmt.Sprintf("%s/jobs?ms=%d", ts.URL, ms), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range maxJobs {
		if code := post(60000); code != 202 {
			t.Fatalf("got %d, want 202", code)
		}
	}
	if code := post(0); code != 503 {
		t.Errorf("with %d jobs running: got %d, want 503", maxJobs, code)
	}
}

func TestOrdering(t *testing.T) {
	o, err := orderingScenario(timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.Sync) != "[1 file 2]" || fmt.Sprint(o.Async) != "[1 2 file]" {
		t.Errorf("got %v and %v", o.Sync, o.Async)
	}
}

func Example_ordering() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "test.txt")
	os.WriteFile(path, []byte("file"), 0o600)
	print := func(s string) { fmt.Println(s) }
	readFileSync(path, print)
	fmt.Println("--")
	readFileAsync(path, print)
	// Output:
	// 1
	// file
	// 2
	// --
	// 1
	// 2
	// file
}
