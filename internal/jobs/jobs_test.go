package jobs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestJobAdvancesToHundred(t *testing.T) {
	s := NewStore(time.Millisecond, 10)
	defer s.Close()
	id, err := s.Submit()
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	for p := 0; ; {
		st, err := s.Wait(context.Background(), id, p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Progress == p {
			break // finished
		}
		seen = append(seen, st.Progress)
		p = st.Progress
	}
	// A busy machine may let two ticks pass between waits; the progress
	// still only ever rises in steps of 10 and ends at 100.
	for i, p := range seen {
		if p%Step != 0 || (i > 0 && p <= seen[i-1]) {
			t.Errorf("got progress %v, want rising steps of 10", seen)
			break
		}
	}
	if len(seen) == 0 || seen[len(seen)-1] != 100 {
		t.Errorf("got progress %v, want it to end at 100", seen)
	}
}

func TestIDsAreUniqueAndCourseShaped(t *testing.T) {
	s := NewStore(time.Hour, 100)
	defer s.Close()
	seen := map[string]bool{}
	for range 50 {
		id, err := s.Submit()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id, "job:") || seen[id] {
			t.Fatalf("got id %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestStoreIsBounded(t *testing.T) {
	s := NewStore(time.Hour, 2)
	defer s.Close()
	s.Submit()
	s.Submit()
	if _, err := s.Submit(); !errors.Is(err, ErrFull) {
		t.Errorf("got %v, want ErrFull with two unfinished jobs", err)
	}
	// A finished job makes room.
	fast := NewStore(time.Microsecond, 1)
	defer fast.Close()
	id, _ := fast.Submit()
	for st := (Status{}); !st.Done(); {
		var err error
		if st, err = fast.Wait(context.Background(), id, st.Progress); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fast.Submit(); err != nil {
		t.Errorf("got %v, want the finished job evicted", err)
	}
	if _, err := fast.Status(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want the evicted job gone", err)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	s := NewStore(time.Hour, 1)
	defer s.Close()
	id, _ := s.Submit()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	st, err := s.Wait(ctx, id, 0)
	if !errors.Is(err, context.DeadlineExceeded) || st.Progress != 0 {
		t.Errorf("got %v, %v; want progress 0 and a deadline error", st, err)
	}
	if _, err := s.Wait(ctx, "job:nope", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func TestWireFormat(t *testing.T) {
	s := NewStore(time.Hour, 10)
	defer s.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/submit", s.HandleSubmit)
	mux.HandleFunc("/checkstatus", func(w http.ResponseWriter, r *http.Request) {
		id, err := ID(r)
		if err == nil {
			var st Status
			if st, err = s.Status(id); err == nil {
				WriteStatus(w, st)
				return
			}
		}
		WriteError(w, err)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &Client{Base: srv.URL}
	ctx := context.Background()
	id, err := c.Submit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Get(ctx, "/checkstatus?jobId="+id)
	if err != nil || st.Progress != 0 || st.ChangedAt.IsZero() {
		t.Errorf("got %+v, %v; want 0%% with a change time", st, err)
	}
	if _, err := c.Get(ctx, "/checkstatus?jobId=job:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
	resp, err := http.Get(srv.URL + "/checkstatus")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("missing jobId: got %d, want 400", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/submit")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /submit: got %d, want 405", resp.StatusCode)
	}
}

func TestParse(t *testing.T) {
	if n, err := ParseStatus("\n\nJobStatus: 40%\n\n"); n != 40 || err != nil {
		t.Errorf("got %d, %v", n, err)
	}
	for _, bad := range []string{"", "JobStatus: undefined%", "JobStatus: 140%",
		"JobStatus: -1%", "Status: 4%", "JobStatus: 4"} {
		if _, err := ParseStatus(bad); err == nil {
			t.Errorf("ParseStatus(%q): got nil error", bad)
		}
	}
	if id, err := ParseID("\n\njob:17\n\n"); id != "job:17" || err != nil {
		t.Errorf("got %q, %v", id, err)
	}
	for _, bad := range []string{"job: 1", "job:", "job:1&x=2", "17"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q): got nil error", bad)
		}
	}
}
