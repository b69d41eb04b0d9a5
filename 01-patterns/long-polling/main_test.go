package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/jobs"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

func TestLongPollingVersusShort(t *testing.T) {
	cfg := config{Tick: 30 * time.Millisecond, Poll: 10 * time.Millisecond,
		Hold: 30 * time.Second}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	long, short := res.Long, res.Short
	if n := len(long.Seen); n == 0 || long.Seen[n-1] != 100 {
		t.Fatalf("long poller saw %v, want it to end at 100", long.Seen)
	}
	// Every held request ends with a change: no request is wasted.
	if long.Wasted() != 0 || long.Requests > 10 {
		t.Errorf("long polling: got %d requests, %d wasted; want at most 10, none wasted",
			long.Requests, long.Wasted())
	}
	if short.Requests <= long.Requests {
		t.Errorf("got %d short polls and %d long polls; want more short",
			short.Requests, long.Requests)
	}
	// The long poller hears of a change as it happens; the short poller
	// waits for its next poll.
	if long.MeanDelay() >= short.MeanDelay() {
		t.Errorf("got mean change-to-client %v long, %v short; want long faster",
			long.MeanDelay(), short.MeanDelay())
	}
	if res.Timeouts < 1 || res.Requests != res.Timeouts+1 {
		t.Errorf("slow job: got %d requests with %d timeouts; want timeouts, then one change",
			res.Requests, res.Timeouts)
	}
	if res.Release < 0 || res.Release > 100*time.Millisecond {
		t.Errorf("got handler released %v after hang-up, want at once", res.Release)
	}
}

// TestHangUpLeaksNothing checks that a client leaving a held request frees
// the handler goroutine and its connection, many times over.
func TestHangUpLeaksNothing(t *testing.T) {
	store := jobs.NewStore(time.Hour, 1)
	defer store.Close()
	srv := newServer(store, time.Hour, timeline.Quiet())
	ts := httptest.NewServer(srv)
	defer ts.Close()
	id, _ := store.Submit()
	tr := &http.Transport{}
	c := &jobs.Client{HTTP: &http.Client{Transport: tr}, Base: ts.URL}
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := c.Get(ctx, "/checkstatus?jobId="+id)
			done <- err
		}()
		if err := waitFor(context.Background(), func() bool {
			return srv.held.Load() == 1
		}); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want the client's cancellation", err)
		}
		ctx, stop := context.WithTimeout(context.Background(), 2*time.Second)
		err := waitFor(ctx, func() bool { return srv.held.Load() == 0 })
		stop()
		if err != nil {
			t.Fatalf("handler still held after hang-up: %v", err)
		}
	}
	tr.CloseIdleConnections()
	left := leak.Gone(5*time.Second, "net/http.(*conn).serve", "(*server).checkStatus")
	if len(left) > 0 {
		t.Errorf("goroutines still serving after 20 hang-ups:\n%s", strings.Join(left, "\n\n"))
	}
}

func TestBadRequests(t *testing.T) {
	store := jobs.NewStore(time.Hour, 1)
	defer store.Close()
	ts := httptest.NewServer(newServer(store, time.Second, timeline.Quiet()))
	defer ts.Close()
	id, _ := store.Submit()
	cases := map[string]int{
		"/checkstatus":                           http.StatusBadRequest,
		"/checkstatus?jobId=job:1":               http.StatusNotFound,
		"/checkstatus?jobId=" + id + "&since=x":  http.StatusBadRequest,
		"/checkstatus?jobId=" + id + "&since=-1": http.StatusBadRequest,
		"/checkstatus?jobId=" + id + "&since=50": http.StatusOK, // differs: at once
		"/status?jobId=job:1":                    http.StatusNotFound,
		"/stats":                                 http.StatusOK,
	}
	for path, want := range cases {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: got %d, want %d", path, resp.StatusCode, want)
		}
	}
}
