package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"backend-protocols/internal/crowd"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/jobs"
)

// TestTenThousandHeldPolls holds 10,000 long polls against the demo server
// in a child process and reports its memory per held request. The client
// and the server are separate processes, so each needs about n
// descriptors. It is left out of -short runs.
func TestTenThousandHeldPolls(t *testing.T) {
	if testing.Short() {
		t.Skip("holds 10,000 connections; skipped with -short")
	}
	const n = 10000
	if _, err := demo.RaiseFileLimit(n + 1000); err != nil {
		t.Skipf("cannot open enough files: %v", err)
	}
	srv := crowd.Start(t, crowd.Build(t, "."),
		"-serve", "127.0.0.1:0", "-tick", "1h", "-hold", "1h")
	id, err := (&jobs.Client{Base: "http://" + srv.Addr}).Submit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := crowd.Idle(t, srv, n,
		[]byte("GET /checkstatus?jobId="+id+" HTTP/1.1\r\nHost: lp\r\n\r\n"), "/stats", "held")
	t.Log(m)
	conns, release, per := m.Conns, m.Release, m.PerConn
	if per <= 0 || per > 100<<10 {
		t.Errorf("got %d bytes per connection, want a positive cost under 100 KiB", per)
	}
	// Held means unanswered: a sample of connections has nothing to read.
	for i := 0; i < len(conns); i += 1000 {
		conns[i].SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if line, err := bufio.NewReader(conns[i]).ReadString('\n'); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connection %d: got %q, %v; want no answer yet", i, line, err)
		}
	}
	release()
	err = crowd.Until(time.Minute, func() (bool, error) {
		v, err := crowd.Stat(srv.Addr, "/stats", "held")
		return v == 0, err
	})
	if err != nil {
		t.Errorf("polls still held after every client left: %v", err)
	}
}
