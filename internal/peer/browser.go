// Package peer finds and starts the independent programs that tests
// drive against the engines: headless Chromium, and python3 with a given
// module (python3-websockets). Tests skip, saying why, when one is
// missing; .ci/packages.d lists what CI installs.
//
//	if peer.ChromiumPath() == "" {
//		t.Skip("chromium not installed")
//	}
//	b, err := peer.OpenBrowser(ctx, "http://127.0.0.1:8080/")
//	...
//	defer b.Close()
package peer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// ChromiumPath returns the Chromium executable on PATH, or "".
func ChromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is a running headless Chromium.
type Browser struct {
	cmd  *exec.Cmd
	dir  string
	done chan struct{} // closed when the process has exited
	once sync.Once
	err  error

	mu  sync.Mutex
	log bytes.Buffer
}

// browserFlags make Chromium headless, quiet and self-contained. QUIC
// stays enabled: HTTP/3 tests force it on for their origin.
var browserFlags = []string{"--headless", "--no-sandbox", "--disable-gpu",
	"--no-first-run", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--disable-breakpad",
	"--disable-default-apps", "--disable-extensions", "--mute-audio"}

// OpenBrowser starts headless Chromium showing url, with the flags a
// sandboxed machine needs (no sandbox, no GPU, no background networking,
// a fresh profile in a temporary folder) and extra ones appended (for
// example --allow-loopback-in-peer-connection). It runs in its own
// process group, so Close ends it and every helper process it started;
// so does the end of ctx.
func OpenBrowser(ctx context.Context, url string, extra ...string) (*Browser, error) {
	path := ChromiumPath()
	if path == "" {
		return nil, errors.New("peer: chromium not found (Debian: apt-get install chromium)")
	}
	dir, err := os.MkdirTemp("", "chromium-")
	if err != nil {
		return nil, err
	}
	args := append(append(append([]string{}, browserFlags...), extra...),
		"--user-data-dir="+dir, url)
	cmd := exec.Command(path, args...)
	// Crash reports and caches go to the temporary folder, not $HOME.
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b := &Browser{cmd: cmd, dir: dir, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = (*browserLog)(b), (*browserLog)(b)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() {
		cmd.Wait()
		close(b.done)
	}()
	context.AfterFunc(ctx, func() { b.Close() })
	return b, nil
}

type browserLog Browser

func (w *browserLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.log.Len() < 1<<20 {
		w.log.Write(p)
	}
	return len(p), nil
}

// Log returns what the browser printed so far, for a failing test to show.
func (b *Browser) Log() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.String()
}

// Exited is closed when the browser process has ended.
func (b *Browser) Exited() <-chan struct{} { return b.done }

// Close asks Chromium to quit (SIGTERM to its process group, which lets
// it end its helpers), kills the group if it has not quit after five
// seconds, and removes the profile. It is safe to call more than once.
func (b *Browser) Close() error {
	b.once.Do(func() {
		pgid := b.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-b.done
		}
		b.err = os.RemoveAll(b.dir)
	})
	return b.err
}
