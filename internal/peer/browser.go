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
	done chan error
	once sync.Once
	err  error
}

// OpenBrowser starts headless Chromium showing url, with the flags a
// sandboxed machine needs (no sandbox, no GPU, no background networking,
// a fresh profile in a temporary folder) and extra ones appended (for
// example --allow-loopback-in-peer-connection). It runs in its own
// process group, so Close ends it and every helper process it started;
// so does the end of ctx.
func OpenBrowser(ctx context.Context, url string, extra ...string) (*Browser, error) {
	path := ChromiumPath()
	if path == "" {
		return nil, errors.New("peer: chromium not found")
	}
	dir, err := os.MkdirTemp("", "chromium-")
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
