package leak

import (
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
