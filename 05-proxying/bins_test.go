package proxying

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The programs the comparison and the strace test run, built once per
// test binary into a directory that TestMain removes at the end.
var bins struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// binary returns the path of a program built from this chapter: "backend"
// (testdata/backend), "l4-lb" or "l7-lb".
func binary(tb testing.TB, name string) string {
	tb.Helper()
	bins.once.Do(func() {
		if bins.dir, bins.err = os.MkdirTemp("", "proxying-bins-"); bins.err != nil {
			return
		}
		// One go command links all three, in parallel.
		cmd := exec.Command("go", "build", "-o", bins.dir+string(filepath.Separator),
			"./testdata/backend", "./l4-lb", "./l7-lb")
		bins.out, bins.err = cmd.CombinedOutput()
	})
	if bins.err != nil {
		tb.Fatalf("go build: %v\n%s", bins.err, bins.out)
	}
	return filepath.Join(bins.dir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}
