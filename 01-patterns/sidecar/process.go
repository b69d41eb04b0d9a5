package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// childEnv, set to 1, makes this program (or its test binary, through
// TestMain) run as the sidecar process instead of the demo.
const childEnv = "BACKEND_PROTOCOLS_SIDECAR"

// maxConfig bounds the configuration line the sidecar reads.
const maxConfig = 64 << 10

// runSidecar is the sidecar process: it reads one line of JSON
// configuration from stdin, listens, writes "listening ADDR" and then one
// log line per event to stdout, and serves until stdin closes (its parent
// is done or gone) or it is interrupted. It returns the exit status.
func runSidecar(stdin io.Reader, stdout, stderr io.Writer) int {
	var mu sync.Mutex
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, format+"\n", args...)
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 4096), maxConfig)
	if !sc.Scan() {
		fmt.Fprintf(stderr, "sidecar: no configuration on stdin: %v\n", sc.Err())
		return 2
	}
	var cfg sidecarConfig
	if err := json.Unmarshal(sc.Bytes(), &cfg); err != nil {
		fmt.Fprintf(stderr, "sidecar: configuration: %v\n", err)
		return 2
	}
	if err := loopbackOnly(cfg.Listen); err != nil {
		fmt.Fprintf(stderr, "sidecar: %v\n", err)
		return 2
	}
	s, err := newSidecar(cfg, logf)
	if err != nil {
		fmt.Fprintf(stderr, "sidecar: %v\n", err)
		return 2
	}
	ln, err := demo.Listen(cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "sidecar: %v\n", err)
		return 1
	}
	logf("listening %s", ln.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for sc.Scan() { // nothing more is said; EOF means stop
		}
		cancel()
	}()
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	if err := demo.ServeHTTP(ctx, srv, ln); err != nil {
		fmt.Fprintf(stderr, "sidecar: %v\n", err)
		return 1
	}
	return 0
}

// sidecarProc is a running sidecar process, seen from the demo.
type sidecarProc struct {
	Addr, URL string
	PID       int

	cmd     *exec.Cmd
	stdin   io.WriteCloser
	relayed chan struct{} // closed when its stdout is done
	mute    atomic.Bool   // drop its log lines instead of noting them
	logged  atomic.Int64  // request lines (not attempt lines) relayed
	stderr  lockedBuffer
}

// startSidecar starts this same program again as the sidecar process
// and hands it cfg on stdin: the CA certificate travels that way, so
// nothing is written to disk and no private key leaves this process.
// The sidecar's log lines are noted on tl as it writes them.
func startSidecar(ctx context.Context, tl *timeline.Timeline, cfg sidecarConfig) (*sidecarProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &sidecarProc{relayed: make(chan struct{})}
	p.cmd = exec.Command(exe)
	p.cmd.Env = append(os.Environ(), childEnv+"=1")
	if _, set := os.LookupEnv("GORACE"); !set {
		// A binary built with -race (go test -race) sleeps a second
		// at exit by default; the sidecar has nothing to report then.
		p.cmd.Env = append(p.cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	p.cmd.Stderr = &p.stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	p.PID = p.cmd.Process.Pid
	lines := make(chan string, 1)
	go func() {
		defer close(p.relayed)
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
				continue
			}
			line := sc.Text()
			if !p.mute.Load() {
				tl.Note("sidecar", "%s", line)
			}
			if !strings.HasPrefix(line, " ") {
				p.logged.Add(1)
			}
		}
		if first {
			close(lines)
		}
	}()
	b, _ := json.Marshal(cfg)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		return nil, p.fail(err)
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case line, ok := <-lines:
		addr, found := strings.CutPrefix(line, "listening ")
		if !ok || !found {
			return nil, p.fail(fmt.Errorf("did not start: %q", line))
		}
		p.Addr, p.URL = addr, "http://"+addr
	case <-t.C:
		return nil, p.fail(errors.New("did not start within 10s"))
	case <-ctx.Done():
		return nil, p.fail(ctx.Err())
	}
	return p, nil
}

// waitLogged waits until the sidecar's log lines for n requests have
// been relayed, so the narrative shows them before what follows.
func (p *sidecarProc) waitLogged(ctx context.Context, n int) error {
	for p.logged.Load() < int64(n) {
		t := time.NewTimer(time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		case <-p.relayed:
			t.Stop()
			return errors.New("sidecar: exited")
		}
	}
	return nil
}

// fail stops a sidecar that did not start and returns err with what it
// said on stderr.
func (p *sidecarProc) fail(err error) error {
	p.Close()
	if s := strings.TrimSpace(p.stderr.String()); s != "" {
		return fmt.Errorf("sidecar: %w: %s", err, s)
	}
	return fmt.Errorf("sidecar: %w", err)
}

// Close asks the sidecar to stop by closing its stdin and waits for it
// to exit; one that has not exited after five seconds is killed.
func (p *sidecarProc) Close() error {
	p.stdin.Close()
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-p.relayed:
	case <-t.C:
		p.cmd.Process.Kill() // our own child, by its PID
		<-p.relayed
	}
	if err := p.cmd.Wait(); err != nil {
		return fmt.Errorf("sidecar %d: %w: %s", p.PID, err,
			strings.TrimSpace(p.stderr.String()))
	}
	return nil
}

// lockedBuffer is a bytes.Buffer safe for the writes of exec's copying
// goroutine and the reads of Close.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
