// Package crowd holds thousands of idle clients against a demo server
// running in a child process, and measures what they cost the server: its
// resident memory before and after, per connection. The scale tests of the
// long-lived HTTP patterns (long polling, server-sent events) use it.
//
// The server runs as its own process, built without the race detector, so
// its memory is the server's alone and not inflated by the test.
package crowd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Build compiles the main package in dir (relative to the test's working
// directory, usually ".") into a temporary binary and returns its path.
func Build(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	cmd := exec.Command("go", "build", "-o", bin, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, out)
	}
	return bin
}

// listening matches the line a demo prints when its server is up.
var listening = regexp.MustCompile(`listening on (?:[a-z]+://)?([0-9.]+:[0-9]+)`)

// Server is a demo server running in a child process.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs bin with args (which should include -serve 127.0.0.1:0) and
// waits for it to print "listening on ADDR". The process is killed when
// the test ends.
func Start(t testing.TB, bin string, args ...string) *Server {
	t.Helper()
	return launch(t, bin, args, func(line string) (string, bool) {
		if m := listening.FindStringSubmatch(line); m != nil {
			return m[1], true
		}
		return "", false
	})
}

// launch runs bin with args and feeds each line it prints to match until
// match reports done; the address match returns then becomes Addr. The
// process is killed when the test ends.
func launch(t testing.TB, bin string, args []string,
	match func(line string) (addr string, done bool)) *Server {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() {
			if a, ok := match(sc.Text()); ok && !found {
				found = true
				addr <- a
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	select {
	case s.Addr = <-addr:
	case <-s.done:
		t.Fatalf("%s exited before listening: %s", bin, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never said where it listens", bin)
	}
	return s
}

// RSS returns the server's resident set size in bytes.
func (s *Server) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("crowd: no VmRSS in /proc status")
}

// Hold opens n connections to addr with a few dialers at a time, writes
// request on each, and keeps them open, with no goroutine per connection.
// They are closed when the test ends, or by calling the returned function.
func Hold(t testing.TB, addr string, n int, request []byte) (conns []net.Conn, release func()) {
	t.Helper()
	const dialers = 16
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		next = make(chan int)
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for range dialers {
		wg.Go(func() {
			var d net.Dialer
			for range next {
				c, err := d.DialContext(ctx, "tcp", addr)
				if err == nil {
					_, err = c.Write(request)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	var once sync.Once
	release = func() {
		once.Do(func() {
			for _, c := range conns {
				c.Close()
			}
		})
	}
	t.Cleanup(release)
	if len(errs) > 0 {
		t.Fatalf("%d of %d connections failed; first: %v", len(errs), n, errs[0])
	}
	return conns, release
}

// Until polls cond every 50 ms until it holds or d passes.
func Until(d time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("crowd: condition not met in time")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stat fetches http://addr/path, a JSON object, and returns its numeric
// field: how a test reads a demo's /stats counters.
func Stat(addr, path, field string) (int64, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var m map[string]int64
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&m); err != nil {
		return 0, err
	}
	v, ok := m[field]
	if !ok {
		return 0, fmt.Errorf("crowd: no %q in %s", field, path)
	}
	return v, nil
}
