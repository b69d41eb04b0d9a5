package lb

import (
	"errors"
	"testing"
)

func targets(names ...string) []*Target {
	var ts []*Target
	for _, n := range names {
		ts = append(ts, NewTarget(n, n+":1"))
	}
	return ts
}

func counts(t *testing.T, p *Pool, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		tg, release, err := p.Pick()
		if err != nil {
			t.Fatal(err)
		}
		got[tg.Name]++
		release()
	}
	return got
}

func TestRoundRobinIsEven(t *testing.T) {
	p := NewPool(RoundRobin, targets("b1", "b2", "b3")...)
	got := counts(t, p, 99)
	for _, n := range []string{"b1", "b2", "b3"} {
		if got[n] != 33 {
			t.Errorf("%s: got %d of 99 picks, want 33", n, got[n])
		}
	}
}

func TestRoundRobinSkipsDownEvenly(t *testing.T) {
	p := NewPool(RoundRobin, targets("b1", "b2", "b3")...)
	if !p.Get("b2").SetUp(false) || p.Get("b2").SetUp(false) {
		t.Fatal("SetUp(false) must report a change once")
	}
	got := counts(t, p, 100)
	if got["b2"] != 0 || got["b1"] != 50 || got["b3"] != 50 {
		t.Errorf("got %v, want b1 50, b3 50 and none for b2", got)
	}
	p.Get("b2").SetUp(true)
	if got := counts(t, p, 30); got["b2"] != 10 {
		t.Errorf("after b2 came back: got %v, want 10 each", got)
	}
}

func TestLeastConnPrefersIdle(t *testing.T) {
	p := NewPool(LeastConn, targets("b1", "b2", "b3")...)
	// Two long connections: they go to two different targets.
	a, _, _ := p.Pick()
	b, _, _ := p.Pick()
	if a == b {
		t.Fatalf("two picks from an idle pool both went to %s", a)
	}
	// Short ones go to the third, the only one with nothing open.
	got := counts(t, p, 20)
	for _, tg := range p.Targets {
		if tg != a && tg != b && got[tg.Name] != 20 {
			t.Errorf("got %v, want all 20 on %s", got, tg)
		}
	}
	if a.Active() != 1 || b.Active() != 1 {
		t.Errorf("got active %d and %d, want 1 each", a.Active(), b.Active())
	}
}

func TestPickSkipsAndRunsOut(t *testing.T) {
	p := NewPool(RoundRobin, targets("b1", "b2")...)
	first, rel, err := p.Pick()
	if err != nil {
		t.Fatal(err)
	}
	rel()
	rel() // a second release must not count twice
	if first.Active() != 0 {
		t.Errorf("got active %d after release, want 0", first.Active())
	}
	second, rel2, err := p.Pick(first)
	if err != nil || second == first {
		t.Fatalf("got %v, %v; want the other target", second, err)
	}
	rel2()
	if _, _, err := p.Pick(first, second); !errors.Is(err, ErrNoBackend) {
		t.Errorf("every target skipped: got %v, want ErrNoBackend", err)
	}
}

func TestParsePolicy(t *testing.T) {
	for _, want := range []Policy{RoundRobin, LeastConn} {
		if got, err := ParsePolicy(want.String()); got != want || err != nil {
			t.Errorf("ParsePolicy(%q) = %v, %v", want, got, err)
		}
	}
	if _, err := ParsePolicy("random"); err == nil {
		t.Error("ParsePolicy(random): got no error")
	}
}

func TestBufferPool(t *testing.T) {
	var p BufferPool
	b := p.Get()
	if len(b) != 32<<10 {
		t.Fatalf("got %d bytes, want 32 KiB", len(b))
	}
	p.Put(b)
	if b2 := p.Get(); len(b2) != 32<<10 {
		t.Errorf("after Put: got %d bytes", len(b2))
	}
}
