package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"
)

func TestRolesOnRawSyscalls(t *testing.T) {
	before, _ := kernel.FDBaseline()
	res, err := scenario(context.Background(), timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if res.QueueBeforeAccept != 1 || res.QueueAfterAccept != 0 {
		t.Errorf("got accept queue %d before accept and %d after, want 1 and 0",
			res.QueueBeforeAccept, res.QueueAfterAccept)
	}
	if res.Waiting != res.RequestBytes {
		t.Errorf("got %d bytes waiting (SIOCINQ), want the %d the client wrote",
			res.Waiting, res.RequestBytes)
	}
	th := res.Threads
	if th[0] == 0 || th[0] == th[1] || th[1] == th[2] || th[0] == th[2] {
		t.Errorf("got threads %v, want three different ones", th)
	}
	if !strings.HasPrefix(res.Answer, "HTTP/1.1 200 OK\r\n") ||
		!strings.Contains(res.Answer, "Connection: close\r\n") ||
		!strings.HasSuffix(res.Answer, "hello from listener-acceptor-reader\n") {
		t.Errorf("got answer %q", res.Answer)
	}
	if after, _ := kernel.OpenFDs(); after != before {
		t.Errorf("got %d descriptors open after, want %d", after, before)
	}
}

// TestServe serves real clients, good and bad, then stops and checks that
// every descriptor it opened is closed.
func TestServe(t *testing.T) {
	before, _ := kernel.FDBaseline()
	tl := timeline.Quiet()
	var lfd int
	var err error
	<-onThread(func(tid int) error {
		lfd, _, err = listen(tl, tid, "127.0.0.1:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := rawnet.Local(lfd).String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveFD(ctx, tl, lfd) }()

	// A good keep-alive client.
	c, err := rawnet.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r, err := c.Get(ctx, "/")
		if err != nil || r.Status != 200 {
			t.Fatalf("got %v, %v", r, err)
		}
	}
	// Garbage gets a 400 and a close; a reset mid-request costs nothing.
	g, _ := net.Dial("tcp", addr)
	io.WriteString(g, "HELLO?\r\n\r\n")
	b, _ := io.ReadAll(g)
	g.Close()
	if !strings.HasPrefix(string(b), "HTTP/1.1 400 ") {
		t.Errorf("garbage: got %q, want a 400", b)
	}
	rst, _ := net.Dial("tcp", addr)
	io.WriteString(rst, "GET / HTTP/1.1\r\nHo")
	rst.(*net.TCPConn).SetLinger(0)
	rst.Close()
	if r, err := c.Get(ctx, "/"); err != nil || r.Status != 200 {
		t.Errorf("after bad clients: got %v, %v", r, err)
	}
	// Stop with a client still connected: its reader is woken and closes.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Close()
	if after, _ := kernel.OpenFDs(); after != before {
		t.Errorf("got %d descriptors open after, want %d", after, before)
	}
}
