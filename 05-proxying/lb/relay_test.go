package lb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/leak"
)

// tunnel starts a TCP relay in front of addr and returns its address.
func tunnel(t *testing.T, addr string, copy Copier) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		demo.ServeConns(ctx, ln, func(c net.Conn) {
			up, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			Relay(ctx, c, up, copy)
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String()
}

// running names the goroutines that must all be gone when a test ends:
// leak.Check also counts this process's descriptors before and after.
var running = []string{"lb.Relay", "lb.oneWay", "demo.ServeConns"}

func TestRelayPassesHalfClose(t *testing.T) {
	leak.Check(t, running...)
	sink, err := StartSink("sink")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	for _, cp := range []struct {
		name string
		copy Copier
	}{{"kernel", KernelCopy}, {"user", UserCopy}} {
		t.Run(cp.name, func(t *testing.T) {
			c, err := net.Dial("tcp", tunnel(t, sink.Addr, cp.copy))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			// The sink answers only after our FIN reaches it through the relay.
			got, err := HalfClose(c.(*net.TCPConn), nil, 100000)
			if want := "sink read 100000 bytes\n"; got != want || err != nil {
				t.Errorf("got %q, %v; want %q", got, err, want)
			}
		})
	}
}

// TestRelayEndsWhenClientVanishes resets the client side mid-stream: the
// relay must close the upstream connection too, and the server behind it
// must see its connection end.
func TestRelayEndsWhenClientVanishes(t *testing.T) {
	leak.Check(t, running...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			ended <- err
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.Copy(io.Discard, c)
		ended <- err
	}()
	c, err := net.Dial("tcp", tunnel(t, ln.Addr().String(), nil))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "half a request")
	c.(*net.TCPConn).SetLinger(0)
	c.Close() // RST
	select {
	case err := <-ended:
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("upstream never saw the connection end: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("upstream still open 5s after the client vanished")
	}
}

func TestRelayStopsWithContext(t *testing.T) {
	leak.Check(t, running...)
	a1, a2 := tcpPair(t)
	b1, b2 := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Relay(ctx, a2, b1, nil)
		done <- err
	}()
	fmt.Fprintf(a1, "ping\n")
	line, err := bufio.NewReader(b2).ReadString('\n')
	if line != "ping\n" || err != nil {
		t.Fatalf("got %q, %v through the relay", line, err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	a1.Close()
	b2.Close()
}

func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// TestKernelCopySplices moves 32 MiB through a relay both ways of copying
// and reads this process's read(2)/write(2) byte counts: the bytes pass
// through user space once on the sending and once on the receiving end of
// the test, and a second time through the relay only with UserCopy.
func TestKernelCopySplices(t *testing.T) {
	if _, err := kernel.ReadIO(); err != nil {
		t.Skipf("no /proc/self/io: %v", err)
	}
	const n = 32 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 1<<20)
			for left := n; left > 0; left -= len(buf) {
				if _, err := c.Write(buf); err != nil {
					break
				}
			}
			c.Close()
		}
	}()
	moved := map[string]kernel.IO{}
	for _, cp := range []struct {
		name string
		copy Copier
	}{{"kernel", KernelCopy}, {"user", UserCopy}} {
		addr := tunnel(t, ln.Addr().String(), cp.copy)
		before, _ := kernel.ReadIO()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.CopyBuffer(onlyWriter{io.Discard}, c, make([]byte, 1<<20))
		c.Close()
		after, _ := kernel.ReadIO()
		if got != n || err != nil {
			t.Fatalf("%s: got %d bytes, %v", cp.name, got, err)
		}
		moved[cp.name] = after.Sub(before)
	}
	k, u := moved["kernel"], moved["user"]
	t.Logf("32 MiB through the relay: read() bytes kernel %d, user %d; write() bytes kernel %d, user %d",
		k.ReadBytes, u.ReadBytes, k.WriteBytes, u.WriteBytes)
	// Allow 10% for the health of the rest of the process.
	if k.ReadBytes > n*11/10 || k.WriteBytes > n*11/10 {
		t.Errorf("kernel copy: got %d bytes read and %d written in user space, want about %d each (the ends only)",
			k.ReadBytes, k.WriteBytes, n)
	}
	if u.ReadBytes < n*19/10 || u.WriteBytes < n*19/10 {
		t.Errorf("user copy: got %d bytes read and %d written, want about %d each (ends and relay)",
			u.ReadBytes, u.WriteBytes, 2*n)
	}
}
