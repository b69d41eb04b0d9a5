// Package crowd holds thousands of idle clients against a demo server
// running in a child process, and measures what they cost the server: its
// resident memory before and after, per connection. The scale tests of the
// long-lived HTTP patterns (long polling, server-sent events) use it.
//
// The server runs as its own process, built without the race detector, so
// its memory is the server's alone and not inflated by the test.
package crowd

import (
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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"backend-protocols/internal/demo"
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

// Server is a demo server running in a child process.
type Server struct {
	*demo.Child
	Addr string
}

// Start runs bin with args (which should include -serve 127.0.0.1:0) and
// waits for it to print "listening on ADDR". The process is killed when
// the test ends.
func Start(t testing.TB, bin string, args ...string) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	c, err := demo.StartChild(ctx, cmd)
	if err != nil {
		t.Fatalf("%s: %v: %s", bin, err, stderr.String())
	}
	t.Cleanup(c.Kill)
	return &Server{Child: c, Addr: c.Addr}
}

// RSS returns the server's resident set size in bytes.
func (s *Server) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Cmd.Process.Pid))
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

// Measure is what Idle measured: the server's resident memory before and
// after n idle clients, and the cost of one.
type Measure struct {
	N             int
	Before, After int64 // bytes of resident memory
	PerConn       int64 // bytes
	Opened        time.Duration
	Conns         []net.Conn
	Release       func()
}

func (m Measure) String() string {
	return fmt.Sprintf("%d idle clients: server RSS %.1f MiB -> %.1f MiB, %.1f KiB per connection (opened in %v)",
		m.N, float64(m.Before)/(1<<20), float64(m.After)/(1<<20), float64(m.PerConn)/1024,
		m.Opened.Round(time.Millisecond))
}

// Idle opens n connections to srv, each sending request, waits until the
// server's counter (field of the JSON at statPath) reads n, and measures
// the server's memory. Release closes them; the test then checks the
// counter returns to zero with Until.
func Idle(t testing.TB, srv *Server, n int, request []byte, statPath, field string) Measure {
	t.Helper()
	m := Measure{N: n}
	var err error
	if m.Before, err = srv.RSS(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m.Conns, m.Release = Hold(t, srv.Addr, n, request)
	err = Until(time.Minute, func() (bool, error) {
		v, err := Stat(srv.Addr, statPath, field)
		return v == int64(n), err
	})
	if err != nil {
		t.Fatalf("server never counted %d %s: %v", n, field, err)
	}
	m.Opened = time.Since(start)
	if m.After, err = srv.RSS(); err != nil {
		t.Fatal(err)
	}
	m.PerConn = (m.After - m.Before) / int64(n)
	return m
}
