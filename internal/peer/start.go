package peer

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// OpenBrowserWith is OpenBrowser with the process started by start
// instead of cmd.Start, for a browser that must run somewhere else: in a
// network namespace behind a NAT, for example,
//
//	start := func(c *exec.Cmd) error { return ns.Do(c.Start) }
//	b, err := peer.OpenBrowserWith(ctx, start, url, flags...)
//
// start must start cmd (and nothing else); the Browser waits for it
// and ends it as OpenBrowser's does.
func OpenBrowserWith(ctx context.Context, start func(*exec.Cmd) error, url string,
	extra ...string) (*Browser, error) {
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
	if err := start(cmd); err != nil {
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
