package lb

import (
	"context"
	"net"
	"testing"
	"time"

	"backend-protocols/internal/leak"
)

type change struct {
	name string
	up   bool
}

func watch(t *testing.T, c *Checker, ts ...*Target) <-chan change {
	t.Helper()
	ch := make(chan change, 16)
	c.OnChange = func(tg *Target, up bool, _ error) { ch <- change{tg.Name, up} }
	t.Cleanup(c.Start(context.Background(), ts...))
	return ch
}

func expect(t *testing.T, ch <-chan change, want change) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no change within 5s, want %+v", want)
	}
}

func TestDialCheckDownAndBack(t *testing.T) {
	b := startBackend(t, "b1")
	tg := NewTarget(b.Name, b.Addr)
	ch := watch(t, &Checker{Check: DialCheck(), Interval: 5 * time.Millisecond,
		Fall: 2, Rise: 2}, tg)
	b.Stop()
	expect(t, ch, change{"b1", false})
	if tg.Up() {
		t.Error("target still up after its backend stopped")
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, change{"b1", true})
}

// TestHTTPCheckSeesWhatDialCheckMisses makes a backend sick: its port is
// open, so the L4 check passes, while the L7 check takes it out.
func TestHTTPCheckSeesWhatDialCheckMisses(t *testing.T) {
	b := startBackend(t, "b1")
	l4, l7 := NewTarget("l4", b.Addr), NewTarget("l7", b.Addr)
	ch := watch(t, &Checker{Check: HTTPCheck(client(t), "http", "/healthz"),
		Interval: 5 * time.Millisecond}, l7)
	watch(t, &Checker{Check: DialCheck(), Interval: 5 * time.Millisecond}, l4)
	b.SetSick(true)
	expect(t, ch, change{"l7", false})
	if !l4.Up() {
		t.Error("the dial check took a backend with an open port down")
	}
	b.SetSick(false)
	expect(t, ch, change{"l7", true})
}

func TestServeTCPClosesEverything(t *testing.T) {
	leak.Check(t, running...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	held := make(chan struct{}, 3)
	done := make(chan error, 1)
	go func() {
		done <- ServeTCP(ctx, ln, func(ctx context.Context, c net.Conn) {
			held <- struct{}{}
			c.Read(make([]byte, 1)) // blocks until the server closes c
		})
	}()
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		<-held
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("got %v, want nil after the context ended", err)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("conn %d: got %d bytes, %v; want it closed", i, n, err)
		}
	}
}

func TestAwait(t *testing.T) {
	ch := make(chan bool, 3)
	ch <- true
	ch <- false
	if err := Await(context.Background(), ch, false); err != nil {
		t.Errorf("got %v, want the down change found", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Await(ctx, ch, true); err == nil {
		t.Error("got nil from a cancelled wait with nothing to receive")
	}
}
