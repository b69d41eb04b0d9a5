package kernel

import (
	"os"
	"testing"
)

func TestReadIO(t *testing.T) {
	before, err := ReadIO()
	if err != nil {
		t.Skipf("no /proc/self/io: %v", err)
	}
	f, err := os.CreateTemp(t.TempDir(), "io")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	after, err := ReadIO()
	if err != nil {
		t.Fatal(err)
	}
	if d := after.Sub(before); d.WriteBytes < 1000 || d.Writes < 1 {
		t.Errorf("after writing 1000 bytes: got %+v, want at least 1000 bytes in one write", d)
	}
}
