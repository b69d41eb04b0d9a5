package lb

import (
	"context"
	"net"
	"testing"
	"time"
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

func TestConnsCloseAll(t *testing.T) {
	var cs Conns
	a, b := net.Pipe()
	defer b.Close()
	if !cs.Add(a) || cs.Len() != 1 {
		t.Fatalf("got Len %d after Add, want 1", cs.Len())
	}
	cs.CloseAll()
	if _, err := a.Write([]byte("x")); err == nil {
		t.Error("a tracked connection still writes after CloseAll")
	}
	c, d := net.Pipe()
	defer d.Close()
	if cs.Add(c) {
		t.Error("Add after CloseAll: got true, want false")
	}
	c.Close()
	cs.Remove(a)
	if cs.Len() != 0 {
		t.Errorf("got Len %d, want 0", cs.Len())
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
