package main

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/crowd"
	"backend-protocols/internal/demo"
)

// TestTenThousandIdleClients holds 10,000 open event streams against the
// demo server in a child process and reports its memory per connection.
// The client and the server are separate processes, so each needs about
// n descriptors. It is left out of -short runs.
func TestTenThousandIdleClients(t *testing.T) {
	if testing.Short() {
		t.Skip("holds 10,000 connections; skipped with -short")
	}
	const n = 10000
	if _, err := demo.RaiseFileLimit(n + 1000); err != nil {
		t.Skipf("cannot open enough files: %v", err)
	}
	srv := crowd.Start(t, crowd.Build(t, "."),
		"-serve", "127.0.0.1:0", "-tick", "1h", "-keepalive", "1h")
	if _, err := crowd.Stat(srv.Addr, "/stats", "streams"); err != nil {
		t.Fatal(err)
	}
	m := crowd.Idle(t, srv, n,
		[]byte("GET /stream HTTP/1.1\r\nHost: sse\r\nAccept: text/event-stream\r\n\r\n"),
		"/stats", "streams")
	t.Log(m)
	conns, release, per := m.Conns, m.Release, m.PerConn
	// Every stream really is one: sample some and read their first bytes.
	for i := 0; i < len(conns); i += 1000 {
		c := conns[i]
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		status, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
			t.Fatalf("connection %d: got %q, %v", i, status, err)
		}
	}
	if per <= 0 || per > 100<<10 {
		t.Errorf("got %d bytes per connection, want a positive cost under 100 KiB", per)
	}
	release()
	err := crowd.Until(time.Minute, func() (bool, error) {
		v, err := crowd.Stat(srv.Addr, "/stats", "streams")
		return v == 0, err
	})
	if err != nil {
		t.Errorf("streams still open after every client left: %v", err)
	}
}
