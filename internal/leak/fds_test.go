package leak

import (
	"os"
	"testing"
	"time"
)

func TestFDs(t *testing.T) {
	before, err := FDs()
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := FDs(); n != before+1 {
		t.Errorf("with one more file open: got %d descriptors, want %d", n, before+1)
	}
	f.Close()
	if n, err := FDsAtMost(time.Second, before); err != nil || n > before {
		t.Errorf("after closing it: got %d, %v; want %d", n, err, before)
	}
}

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
