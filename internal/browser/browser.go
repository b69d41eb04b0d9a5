// Package browser starts headless Chromium for tests and demos that
// need a real browser on a page served from loopback.
//
//	b, err := browser.Open(ctx, "http://127.0.0.1:8080/")
//	...
//	defer b.Close()
//
// Chromium runs with the flags a sandboxed machine needs (no sandbox, no
// GPU, no background networking, a fresh profile in a temporary folder)
// in its own process group, so Close ends it and every helper process it
// started. Tests call Path first and skip when it returns "".
package browser

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Path returns the Chromium executable on PATH, or "" if there is none.
func Path() string {
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
	done chan error
	once sync.Once
	err  error
}

// Open starts headless Chromium showing url. extra flags are appended
// (for example --allow-loopback-in-peer-connection).
func Open(ctx context.Context, url string, extra ...string) (*Browser, error) {
	path := Path()
	if path == "" {
		return nil, errors.New("browser: chromium not found")
	}
	dir, err := os.MkdirTemp("", "browser-")
	if err != nil {
		return nil, err
	}
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-breakpad",
		"--user-data-dir=" + dir}, extra...)
	cmd := exec.Command(path, append(args, url)...)
	// Crash reports and caches go to the temporary folder, not $HOME.
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	b := &Browser{cmd: cmd, dir: dir, done: make(chan error, 1)}
	go func() { b.done <- cmd.Wait() }()
	context.AfterFunc(ctx, func() { b.Close() })
	return b, nil
}

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
