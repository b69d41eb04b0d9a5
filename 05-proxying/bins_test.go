package proxying

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/crowd"
)

// The programs the comparison and the strace test run, built once per
// test binary into a directory that TestMain removes at the end.
var bins struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// binary returns the path of a program built from this chapter: "l4-lb"
// or "l7-lb".
func binary(tb testing.TB, name string) string {
	tb.Helper()
	bins.once.Do(func() {
		if bins.dir, bins.err = os.MkdirTemp("", "proxying-bins-"); bins.err != nil {
			return
		}
		// One go command links both, in parallel.
		cmd := exec.Command("go", "build", "-o", bins.dir+string(filepath.Separator),
			"./l4-lb", "./l7-lb")
		bins.out, bins.err = cmd.CombinedOutput()
	})
	if bins.err != nil {
		tb.Fatalf("go build: %v\n%s", bins.err, bins.out)
	}
	return filepath.Join(bins.dir, name)
}

// backendArg, as the first argument, makes this test binary a named
// backend (lb.Backend) alone in its process: the comparison fronts three
// of these, so that the CPU time of the backends and of each proxy is
// read apart.
const backendArg = "proxying-backend"

// startBackend runs the backend called name as a process of its own.
func startBackend(tb testing.TB, name string) *crowd.Server {
	tb.Helper()
	return crowd.Start(tb, os.Args[0], backendArg, name)
}

// serveBackend is main for such a process: it serves until killed.
func serveBackend(name string) int {
	b, err := lb.StartBackend(name, lb.BackendOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s listening on %s\n", name, b.URL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	b.Close()
	return 0
}

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == backendArg {
		os.Exit(serveBackend(os.Args[2]))
	}
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}
