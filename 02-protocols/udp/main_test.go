package main

import (
	"backend-protocols/internal/leak"
	"context"
	"errors"
	"net"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

func TestUDP(t *testing.T) {
	res, err := scenario(context.Background(), timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if left := leak.Gone(5*time.Second, "main.serve", "netem.(*UDPRelay)"); len(left) > 0 {
		t.Errorf("goroutines left: %v", left)
	}
	t.Run("no handshake", func(t *testing.T) {
		if res.First.msg != "hi" {
			t.Errorf("got first datagram %q, want the data itself", res.First.msg)
		}
		if res.DialErr != nil || res.WriteErr != nil {
			t.Errorf("dial %v, write %v to a closed port; want both to succeed",
				res.DialErr, res.WriteErr)
		}
		if !errors.Is(res.ReadErr, syscall.ECONNREFUSED) {
			t.Errorf("got read error %v, want ECONNREFUSED from the ICMP error", res.ReadErr)
		}
	})
	t.Run("boundaries", func(t *testing.T) {
		if !slices.Equal(res.Sends, res.Reads) || len(res.Reads) != 3 {
			t.Errorf("sent %q, read %q; want three reads, one per send",
				res.Sends, res.Reads)
		}
	})
	t.Run("loss", func(t *testing.T) {
		l := res.Lossy
		if l.SendErrors != 0 {
			t.Errorf("got %d send errors, want none: a lost datagram is silent", l.SendErrors)
		}
		if l.Missing == 0 || l.Missing != l.Relay.Dropped {
			t.Errorf("got %d missing, relay dropped %d; want the same, above 0",
				l.Missing, l.Relay.Dropped)
		}
		if l.Received+l.Missing != l.Sent {
			t.Errorf("got %d received + %d missing, want %d sent",
				l.Received, l.Missing, l.Sent)
		}
		if l.Late == 0 {
			t.Errorf("got every datagram in order, want some overtaken")
		}
	})
	t.Run("truncation", func(t *testing.T) {
		tr := res.Truncated
		if tr.Peeked != tr.Sent {
			t.Errorf("MSG_PEEK|MSG_TRUNC: got %d, want the real length %d", tr.Peeked, tr.Sent)
		}
		if tr.Got != tr.Buffer || !tr.Trunc {
			t.Errorf("got n=%d MSG_TRUNC=%v, want n=%d and MSG_TRUNC", tr.Got, tr.Trunc, tr.Buffer)
		}
		if tr.GoReadErr != nil {
			t.Errorf("plain Read: got %v, want no error (it truncates silently)", tr.GoReadErr)
		}
		if tr.NextRead != "next" {
			t.Errorf("got %q after the truncated reads, want %q", tr.NextRead, "next")
		}
	})
}

// startServe runs -serve's server on a free port and returns its address
// and the timeline it prints to.
func startServe(t *testing.T) (string, *timeline.Timeline) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tl := timeline.Quiet()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, conn, tl, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return conn.LocalAddr().String(), tl
}

// waitNote waits for the server to print a line that ok accepts.
func waitNote(t *testing.T, tl *timeline.Timeline, want string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if len(tl.Find(func(e timeline.Event) bool { return ok(e.Text) })) > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("server never printed %s; printed %v", want, tl.Events())
}

func TestServePrintsLikeTheCourse(t *testing.T) {
	addr, tl := startServe(t)
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(addr, []string{"hello"}, timeline.Quiet()); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("again"))
	want := "got a datagram again, from " + c.LocalAddr().String()
	waitNote(t, tl, want, func(s string) bool { return s == want })
}

// TestServeWithNetcat sends from the course's client, nc -u.
func TestServeWithNetcat(t *testing.T) {
	if _, err := exec.LookPath("nc"); err != nil {
		t.Skip("nc (netcat-openbsd) not installed")
	}
	addr, tl := startServe(t)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("nc", "-u", "-q0", host, port)
	cmd.Stdin = strings.NewReader("from netcat\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nc: %v: %s", err, out)
	}
	// nc sends the line with its newline, as the course's demo shows.
	const want = "got a datagram from netcat\n, from 127.0.0.1:"
	waitNote(t, tl, want, func(s string) bool { return strings.HasPrefix(s, want) })
}
