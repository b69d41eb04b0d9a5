package lb

import (
	"errors"
	"testing"

	"backend-protocols/internal/timeline"
)

func TestEven(t *testing.T) {
	cases := []struct {
		tally map[string]int
		want  bool
	}{
		{map[string]int{"b1": 10, "b2": 10}, true},
		{map[string]int{"b1": 10, "b2": 9}, false},
		{map[string]int{"b1": 10, "b2": 10, "b3": 1}, false},
		{map[string]int{"b1": 10}, false},
	}
	for _, c := range cases {
		if got := Even(c.tally, 10, "b1", "b2"); got != c.want {
			t.Errorf("Even(%v): got %v, want %v", c.tally, got, c.want)
		}
	}
}

func TestStartBackends(t *testing.T) {
	bs, err := StartBackends(BackendOptions{}, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	defer CloseBackends(bs)
	ts := Targets(bs)
	if len(ts) != 2 || ts[0].Name != "a" || ts[1].Addr != bs[1].Addr || !ts[0].Up() {
		t.Errorf("got targets %v", ts)
	}
	if _, err := StartBackends(BackendOptions{Addr: "256.0.0.1:1"}, "x"); err == nil {
		t.Error("a backend on a bad address started")
	}
}

func TestScenesStopAtFirstError(t *testing.T) {
	var ran []int
	bad := errors.New("scene 2 failed")
	err := Scenes(timeline.Quiet(),
		func() error { ran = append(ran, 1); return nil },
		func() error { ran = append(ran, 2); return bad },
		func() error { ran = append(ran, 3); return nil })
	if !errors.Is(err, bad) || len(ran) != 2 {
		t.Errorf("got %v after scenes %v, want scene 2's error after 1 and 2", err, ran)
	}
}

func TestExternal(t *testing.T) {
	ts, err := Flags{Backends: "127.0.0.1:9001, 127.0.0.1:9002"}.External()
	if err != nil || len(ts) != 2 || ts[0].Name != "b1" || ts[1].Addr != "127.0.0.1:9002" {
		t.Errorf("got %v, %v; want b1 and b2 at the two addresses", ts, err)
	}
	if ts, err := (Flags{}).External(); ts != nil || err != nil {
		t.Errorf("no -backends: got %v, %v; want nil, nil", ts, err)
	}
	if _, err := (Flags{Backends: "nohost"}).External(); err == nil {
		t.Error("-backends nohost: got no error")
	}
}
