package netem

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/leak"
)

// udpEcho starts a UDP server that answers each datagram with itself and
// records the source ports it saw.
func udpEcho(t *testing.T) (addr string, ports func() []int) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan int, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			select {
			case seen <- from.Port:
			default:
			}
			c.WriteToUDP(buf[:n], from)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().String(), func() []int {
		var out []int
		for {
			select {
			case p := <-seen:
				if !slices.Contains(out, p) {
					out = append(out, p)
				}
			default:
				return out
			}
		}
	}
}

func newRelay(t *testing.T, target string, up, down Path) (*UDPRelay, *net.UDPConn) {
	t.Helper()
	r, err := NewUDPRelay("127.0.0.1:0", target, up, down)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c, err := net.DialUDP("udp", nil, r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return r, c
}

func TestUDPDelay(t *testing.T) {
	target, _ := udpEcho(t)
	const oneWay = 20 * time.Millisecond
	_, c := newRelay(t, target, Path{Delay: oneWay}, Path{Delay: oneWay})
	buf := make([]byte, 64)
	for i := range 3 {
		start := time.Now()
		c.Write([]byte{byte(i)})
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		rtt := time.Since(start)
		if rtt < 2*oneWay || rtt > 2*oneWay+15*time.Millisecond {
			t.Errorf("got round trip %v, want about %v", rtt, 2*oneWay)
		}
	}
}

func TestUDPDropExactly(t *testing.T) {
	target, _ := udpEcho(t)
	drop := func(seq int, _ []byte) bool { return seq == 2 || seq == 4 }
	r, c := newRelay(t, target, Path{Drop: drop}, Path{})
	for i := 1; i <= 5; i++ {
		c.Write([]byte{byte(i)})
	}
	var got []byte
	buf := make([]byte, 64)
	for range 3 {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, []byte{1, 3, 5}) {
		t.Errorf("got %v back, want [1 3 5]", got)
	}
	if s := r.Up(); s.Packets != 5 || s.Dropped != 2 {
		t.Errorf("got up stats %+v, want 5 packets, 2 dropped", s)
	}
}

// sendAll sends n one-byte datagrams numbered 0..n-1, letting the relay
// catch up every 50 so the kernel's socket buffer never overflows.
func sendAll(t *testing.T, r *UDPRelay, c *net.UDPConn, n int) {
	t.Helper()
	for i := range n {
		c.Write([]byte{byte(i)})
		if (i+1)%50 == 0 || i == n-1 {
			deadline := time.Now().Add(2 * time.Second)
			for r.Up().Packets < i+1 {
				if time.Now().After(deadline) {
					t.Fatalf("relay saw %d of %d datagrams", r.Up().Packets, i+1)
				}
				runtime.Gosched()
			}
		}
	}
}

func TestUDPReorderAndDuplicate(t *testing.T) {
	target, _ := udpEcho(t)
	r, c := newRelay(t, target, Path{Delay: 20 * time.Millisecond,
		Reorder: 0.5, Duplicate: 0.2, Seed: 7}, Path{})
	const n = 200
	sendAll(t, r, c, n)
	s := r.Up()
	if s.Reordered < 60 || s.Reordered > 140 || s.Duplicated < 20 || s.Duplicated > 60 {
		t.Fatalf("got %+v, want about 100 reordered and 40 duplicated", s)
	}
	var got []byte
	buf := make([]byte, 8)
	for len(got) < n+s.Duplicated {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		k, err := c.Read(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(got), err)
		}
		got = append(got, buf[:k]...)
	}
	inversions := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] { // n < 256: no byte wrap
			inversions++
		}
	}
	if inversions == 0 {
		t.Errorf("got every datagram in order, want some overtaken: %v", got)
	}
}

func TestUDPLossRate(t *testing.T) {
	target, _ := udpEcho(t)
	r, c := newRelay(t, target, Path{Loss: 0.3, Seed: 42}, Path{})
	sendAll(t, r, c, 1000)
	s := r.Up()
	if s.Dropped < 240 || s.Dropped > 360 {
		t.Errorf("got %d of 1000 dropped, want about 300", s.Dropped)
	}
}

func TestUDPRebind(t *testing.T) {
	target, ports := udpEcho(t)
	r, c := newRelay(t, target, Path{}, Path{})
	buf := make([]byte, 8)
	echo := func() {
		t.Helper()
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	echo()
	if err := r.Rebind(); err != nil {
		t.Fatal(err)
	}
	echo()
	if p := ports(); len(p) != 2 {
		t.Errorf("target saw source ports %v, want two after a rebind", p)
	}
}

func TestUDPCloseStopsGoroutines(t *testing.T) {
	target, _ := udpEcho(t)
	r, err := NewUDPRelay("127.0.0.1:0", target, Path{}, Path{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := net.DialUDP("udp", nil, r.Addr())
	c.Write([]byte("x"))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	c.Read(make([]byte, 8))
	c.Close()
	r.Close()
	r.Close()
	// Close waits for its goroutines; they may take a moment to exit after
	// signalling that they are done.
	if left := leak.Gone(time.Second, "netem.(*UDPRelay)", "netem.(*queue"); len(left) > 0 {
		t.Errorf("goroutines left after Close:\n%s", strings.Join(left, "\n\n"))
	}
}

func TestTCPRelayDelaysAndHalfCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c) // until the client's half-close
		c.Write(bytes.ToUpper(b))
	}()
	const oneWay = 15 * time.Millisecond
	r, err := NewTCPRelay("127.0.0.1:0", ln.Addr().String(),
		Path{Delay: oneWay}, Path{Delay: oneWay})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := net.Dial("tcp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.Write([]byte("hello"))
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "HELLO" {
		t.Fatalf("got %q, %v; want HELLO", b, err)
	}
	if d := time.Since(start); d < 2*oneWay || d > 2*oneWay+30*time.Millisecond {
		t.Errorf("got round trip %v, want about %v", d, 2*oneWay)
	}
	if s := r.Up(); s.Bytes != 5 {
		t.Errorf("got %d bytes up, want 5", s.Bytes)
	}
}

func TestTCPRelayCloseEndsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			held <- c
		}
	}()
	r, err := NewTCPRelay("127.0.0.1:0", ln.Addr().String(), Path{}, Path{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-held
	defer s.Close()
	r.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("got %v, want the connection closed by the relay", err)
	}
}
