package proxying

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/crowd"
)

// straceCounts attaches strace to pid while work runs and returns the
// number of calls of each syscall it saw, from strace -c's table.
func straceCounts(t *testing.T, pid int, work func() error) map[string]int {
	t.Helper()
	out := filepath.Join(t.TempDir(), "strace.out")
	cmd := exec.Command("strace", "-f", "-c", "-e", "trace=splice,read,write,readv,writev,recvfrom,sendto",
		"-o", out, "-p", strconv.Itoa(pid))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("strace: %v", err)
	}
	// strace says "attached" once it traces (or why it cannot).
	attached := make(chan bool, 1)
	drained := make(chan struct{})
	stop := func(sig os.Signal) {
		cmd.Process.Signal(sig)
		<-drained // read stderr to its end before Wait closes it
		cmd.Wait()
	}
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			if !said {
				said = true
				attached <- strings.Contains(sc.Text(), "attached")
			}
		}
	}()
	select {
	case ok := <-attached:
		if !ok {
			stop(os.Kill)
			t.Skip("strace could not attach (no ptrace here?)")
		}
	case <-time.After(10 * time.Second):
		stop(os.Kill)
		t.Skip("strace did not attach within 10s")
	}
	werr := work()
	stop(os.Interrupt)
	if werr != nil {
		t.Fatal(werr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		// % time, seconds, usecs/call, calls, [errors], syscall
		if len(f) >= 5 && f[len(f)-1] != "total" {
			if n, err := strconv.Atoi(f[3]); err == nil {
				counts[f[len(f)-1]] = n
			}
		}
	}
	return counts
}

// TestSpliceUnderStrace counts the system calls of an l4-lb process while
// 64 MiB cross it, with io.Copy and with the read/write loop: an
// independent look (strace, outside the process) at what
// 05-proxying/l4-lb shows with /proc/self/io. The backend is a process of
// its own, so every call counted is the balancer's.
func TestSpliceUnderStrace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs l4-lb as a process under strace; skipped with -short")
	}
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace not installed")
	}
	backend := startBackend(t, "b1")
	bin := binary(t, "l4-lb")
	const n = 64 << 20
	got := map[string]map[string]int{}
	for _, way := range []string{"splice", "user"} {
		s := crowd.Start(t, bin, "-serve", "127.0.0.1:0", "-quiet-conns",
			"-backends", backend.Addr, "-copy", way)
		pid := s.Cmd.Process.Pid
		got[way] = straceCounts(t, pid, func() error {
			_, _, err := bulk(context.Background(), target{name: way,
				url: "http://" + s.Addr, pids: []int{pid}}, n)
			return err
		})
		t.Logf("%s: %v", way, got[way])
	}
	reads := func(m map[string]int) int { return m["read"] + m["readv"] + m["recvfrom"] }
	writes := func(m map[string]int) int { return m["write"] + m["writev"] + m["sendto"] }
	if k := got["splice"]; k["splice"] < 2*n/(1<<20) || reads(k) > 100 || writes(k) > 100 {
		t.Errorf("io.Copy: got %d splice, %d read and %d write calls for 64 MiB, want at least 128 splices and next to no reads or writes",
			k["splice"], reads(k), writes(k))
	}
	if u := got["user"]; u["splice"] != 0 || reads(u) < n/(32<<10) || writes(u) < n/(32<<10) {
		t.Errorf("read/write loop: got %d splice, %d read and %d write calls, want none and at least %d of each",
			u["splice"], reads(u), writes(u), n/(32<<10))
	}
}
