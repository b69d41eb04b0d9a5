package main

import (
	"backend-protocols/internal/leak"
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

func TestTCP(t *testing.T) {
	res, err := scenario(context.Background(), timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if left := leak.Gone(5*time.Second, "main.serve", "main.boundaries",
		"main.info"); len(left) > 0 {
		t.Errorf("goroutines left: %v", left)
	}
	if res.Greeting != "Hello client!" {
		t.Errorf("got greeting %q, want Hello client!", res.Greeting)
	}
	t.Run("no boundaries", func(t *testing.T) {
		if len(res.Reads) >= len(res.Writes) ||
			strings.Join(res.Reads, "") != strings.Join(res.Writes, "") {
			t.Errorf("wrote %q, read %q; want fewer reads, same bytes", res.Writes, res.Reads)
		}
		if !slices.Equal(res.Framed, res.Writes) {
			t.Errorf("framed: got %q, want %q", res.Framed, res.Writes)
		}
		if res.BigReads < 2 {
			t.Errorf("one %d-byte write came in %d read(s), want several",
				res.BigWrite, res.BigReads)
		}
	})
	t.Run("tcp_info", func(t *testing.T) {
		i, si := res.Info, res.ServerInfo
		if i.State != 1 {
			t.Errorf("got state %d, want 1 (ESTABLISHED)", i.State)
		}
		if i.Rtt == 0 || i.Rtt > 1_000_000 {
			t.Errorf("got rtt %dµs, want above 0 and under a second on loopback", i.Rtt)
		}
		if i.Snd_cwnd < 2 || i.Snd_mss < 536 {
			t.Errorf("got cwnd %d, mss %d; want a window and a real MSS", i.Snd_cwnd, i.Snd_mss)
		}
		// The SYN takes one sequence number, acknowledged like a byte.
		if want := uint64(res.Transferred) + 1; i.Bytes_acked != want {
			t.Errorf("got bytes acked %d, want %d", i.Bytes_acked, want)
		}
		if i.Delivery_rate == 0 {
			t.Error("got delivery rate 0, want a measured rate")
		}
		if i.Data_segs_out == 0 || i.Total_retrans > i.Data_segs_out {
			t.Errorf("got %d data segments, %d retransmits", i.Data_segs_out, i.Total_retrans)
		}
		if si.Bytes_received != uint64(res.Transferred) {
			t.Errorf("server got bytes received %d, want %d", si.Bytes_received, res.Transferred)
		}
	})
	t.Run("fin versus rst", func(t *testing.T) {
		if len(res.Closes) != 3 {
			t.Fatalf("got %d close cases, want 3", len(res.Closes))
		}
		fin := res.Closes[0]
		if fin.PeerErr != io.EOF || fin.PeerState != "CLOSE_WAIT" ||
			fin.CloserState != "TIME_WAIT" {
			t.Errorf("FIN: got %v, peer %s, closer %s; want EOF, CLOSE_WAIT, TIME_WAIT",
				fin.PeerErr, fin.PeerState, fin.CloserState)
		}
		for _, rst := range res.Closes[1:] {
			if !errors.Is(rst.PeerErr, syscall.ECONNRESET) || rst.CloserState != "" {
				t.Errorf("%s: got %v, closer %q; want ECONNRESET and no TIME_WAIT",
					rst.How, rst.PeerErr, rst.CloserState)
			}
		}
	})
	t.Run("half-close", func(t *testing.T) {
		hc := res.HalfClose
		if !hc.ServerEOF {
			t.Error("the server did not read the whole request and then EOF")
		}
		if !errors.Is(hc.WriteErr, syscall.EPIPE) {
			t.Errorf("write after CloseWrite: got %v, want EPIPE", hc.WriteErr)
		}
		if want := "reply part 1\nreply part 2\nreply part 3\n"; hc.Replies != want {
			t.Errorf("got %q after the client's FIN, want %q", hc.Replies, want)
		}
	})
}

func startServe(t *testing.T) (string, *timeline.Timeline) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := timeline.Quiet()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, tl) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String(), tl
}

func waitNote(t *testing.T, tl *timeline.Timeline, ok func(string) bool) bool {
	t.Helper()
	err := waitFor("a note", func() (bool, error) {
		return len(tl.Find(func(e timeline.Event) bool { return ok(e.Text) })) > 0, nil
	})
	return err == nil
}

func TestServeLikeTheCourse(t *testing.T) {
	addr, tl := startServe(t)
	if _, err := hello(context.Background(), addr, "Hi server", timeline.Quiet()); err != nil {
		t.Fatal(err)
	}
	if !waitNote(t, tl, func(s string) bool {
		return strings.HasPrefix(s, "TCP handshake successful with 127.0.0.1:")
	}) || !waitNote(t, tl, func(s string) bool { return s == "Received data Hi server" }) {
		t.Errorf("got server notes %v", tl.Events())
	}
}

// TestServeWithNetcat talks to -serve with nc, as the course does.
func TestServeWithNetcat(t *testing.T) {
	if _, err := exec.LookPath("nc"); err != nil {
		t.Skip("nc (netcat-openbsd) not installed")
	}
	addr, tl := startServe(t)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("nc", "-N", "-w2", host, port)
	cmd.Stdin = strings.NewReader("from netcat")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nc: %v", err)
	}
	if string(out) != greeting {
		t.Errorf("nc read %q, want %q", out, greeting)
	}
	if !waitNote(t, tl, func(s string) bool { return s == "Received data from netcat" }) {
		t.Errorf("got server notes %v", tl.Events())
	}
}
