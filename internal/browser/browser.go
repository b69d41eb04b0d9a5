// Package browser starts a headless Chromium for tests and demos that need
// a real browser: EventSource, WebSocket and WebRTC pages served by a demo
// are loaded in it, and the page reports back to the demo over HTTP.
//
// Tests call Path first and skip with its error when no browser is
// installed (.ci/run installs Debian's chromium).
package browser

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// names are the executables tried, in order.
var names = []string{"chromium", "chromium-browser", "google-chrome", "chrome"}

// ErrNotFound means no Chromium-like browser is on PATH.
var ErrNotFound = errors.New("browser: no chromium on PATH (Debian: apt-get install chromium)")

// Path returns the browser executable, or ErrNotFound.
func Path() (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// baseFlags make Chromium headless, quiet and self-contained: no sandbox
// (we may run as root), and none of the background traffic a closed
// network would refuse.
var baseFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
	"--disable-background-networking", "--disable-component-update",
	"--disable-sync", "--disable-default-apps", "--mute-audio",
	"--disable-extensions", "--no-default-browser-check",
}

// Browser is a running headless browser with its own empty profile.
type Browser struct {
	cmd     *exec.Cmd
	profile string
	mu      sync.Mutex
	log     bytes.Buffer
	done    chan struct{}
	once    sync.Once
}

// Start launches the browser on url with extra flags (for example
// "--allow-loopback-in-peer-connection"). Close it when done.
func Start(url string, flags ...string) (*Browser, error) {
	path, err := Path()
	if err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "browser-profile-")
	if err != nil {
		return nil, err
	}
	args := append(append(append([]string{}, baseFlags...), flags...),
		"--user-data-dir="+profile, url)
	b := &Browser{profile: profile, done: make(chan struct{})}
	b.cmd = exec.Command(path, args...)
	b.cmd.Stdout = (*logWriter)(b)
	b.cmd.Stderr = (*logWriter)(b)
	// Its own process group, so Close can end the renderer and GPU
	// processes Chromium starts, not only the first one.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		os.RemoveAll(profile)
		return nil, fmt.Errorf("browser: %w", err)
	}
	go func() {
		b.cmd.Wait()
		close(b.done)
	}()
	return b, nil
}

type logWriter Browser

func (w *logWriter) Write(p []byte) (int, error) {
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

// Exited is closed when the browser process ends.
func (b *Browser) Exited() <-chan struct{} { return b.done }

// Close kills the browser and all its processes, waits for it, and removes
// its profile. It is safe to call more than once.
func (b *Browser) Close() error {
	b.once.Do(func() {
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
		}
		os.RemoveAll(b.profile)
	})
	return nil
}
