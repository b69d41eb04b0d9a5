package leak

import (
	"os"
	"slices"
	"testing"
	"time"
)

func parkedHere(started, stop chan struct{}) {
	close(started)
	<-stop
}

func TestFindsAndWaits(t *testing.T) {
	started, stop := make(chan struct{}), make(chan struct{})
	go parkedHere(started, stop)
	<-started
	if got := Gone(50*time.Millisecond, "leak.parkedHere"); len(got) != 1 {
		t.Fatalf("got %d goroutines in parkedHere, want 1", len(got))
	}
	close(stop)
	if got := Gone(5*time.Second, "leak.parkedHere"); len(got) != 0 {
		t.Errorf("got %d goroutines after they ended, want 0", len(got))
	}
}

func TestFDs(t *testing.T) {
	before := len(FDs())
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if got := FDs(); len(got) != before+1 || !slices.Contains(got, os.DevNull) {
		t.Errorf("got %v with a file open, want %d entries including %s",
			got, before+1, os.DevNull)
	}
	f.Close()
	if got := len(FDs()); got != before {
		t.Errorf("got %d fds after Close, want %d", got, before)
	}
}
