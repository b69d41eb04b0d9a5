package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

// TestMain lets the test binary act as the broker child process that the
// work-queue scenario starts and kills.
func TestMain(m *testing.M) {
	if logPath, ok := os.LookupEnv(childEnv); ok {
		os.Exit(runChild(logPath))
	}
	os.Exit(m.Run())
}

func TestScenario(t *testing.T) {
	res, err := scenario(context.Background(), timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	wantReceivers := map[string]int64{"news:hello": 2, "sport.tennis:6-4": 1,
		"weather:rain": 0, "news:second": 3}
	for k, want := range wantReceivers {
		if got := res.Topics.Receivers[k]; got != want {
			t.Errorf("PUBLISH %s: got %d receivers, want %d", k, got, want)
		}
	}
	wantGot := map[string][]string{
		"alice": {"news:hello", "news:second"}, "bob": {"news:hello", "news:second"},
		"carol": {"sport.tennis:6-4"}, "dave": {"news:second"}, // dave came late
	}
	for name, want := range wantGot {
		if got := res.Topics.Got[name]; !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}

	s := res.Slow
	if s.FastGot != s.Messages || !s.SlowCut || s.Receivers != [2]int64{2, 1} {
		t.Errorf("slow subscriber: fast got %d of %d, slow cut %v, receivers %v; "+
			"want all, true, [2 1]", s.FastGot, s.Messages, s.SlowCut, s.Receivers)
	}
	if s.WithSlow > 3*s.Alone+time.Second {
		t.Errorf("publisher took %v with a slow subscriber, %v without: it was slowed down",
			s.WithSlow, s.Alone)
	}
	for _, r := range res.Rates {
		if r.PerSecond() < 1000 {
			t.Errorf("%d subscribers: %.0f messages/s, want far more", r.Subscribers, r.PerSecond())
		}
	}

	q := res.Queue
	checks := []struct {
		name      string
		got, want []int
	}{
		{"consumer1 got", q.Consumer1, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"consumer1 acked", q.Acked1, []int{7}},
		{"consumer2 got", q.Consumer2, []int{1, 2, 3, 4, 5, 6, 8, 9, 10}},
		{"consumer2 acked", q.Acked2, []int{1, 2, 3, 4}},
		{"after the restart", q.Restarted, []int{5, 6, 8, 9, 10}},
	}
	for _, c := range checks {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if q.BeforeKill != [2]int64{0, 5} || q.AfterRestart != [2]int64{5, 0} {
		t.Errorf("QLEN before the kill %v, after the restart %v; want [0 5] then [5 0]",
			q.BeforeKill, q.AfterRestart)
	}
	if q.LogBytes[1] >= q.LogBytes[0] {
		t.Errorf("log of %d bytes compacted to %d: want smaller", q.LogBytes[0], q.LogBytes[1])
	}
}

// startTestBroker serves a broker on loopback for the length of a test.
func startTestBroker(t *testing.T, logPath string) (*broker, string) {
	t.Helper()
	b, err := newBroker(timeline.Quiet(), logPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		b.close()
	})
	return b, ln.Addr().String()
}

func Example_glob() {
	fmt.Println(globMatch("news.*", "news.sport"), globMatch("h[^e]llo", "hello"))
	// Output: true false
}
