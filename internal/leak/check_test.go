package leak

import (
	"os"
	"slices"
	"testing"
	"time"
)

func TestCheckPasses(t *testing.T) {
	Check(t, "leak.parkedHere")
	started, stop := make(chan struct{}), make(chan struct{})
	go parkedHere(started, stop)
	<-started
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after Check, so these run before its check.
	t.Cleanup(func() { f.Close() })
	t.Cleanup(func() { close(stop) })
}

func TestFDsAtMostAndExtra(t *testing.T) {
	before := FDs()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	now := FDs()
	if got := extra(before, now); !slices.Equal(got, []string{"/dev/null"}) {
		t.Errorf("got extra %v, want [/dev/null]", got)
	}
	f.Close()
	if got := FDsAtMost(time.Second, len(before)); len(got) > len(before) {
		t.Errorf("after closing: got %d descriptors, want %d", len(got), len(before))
	}
}
