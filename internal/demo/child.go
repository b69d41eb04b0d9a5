package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
)

// listening matches the line a demo server prints once it is up, such as
// "listening on 127.0.0.1:41234" or "listening on http://127.0.0.1:8080".
var listening = regexp.MustCompile(`listening on (?:[a-z]+://)?([0-9.]+:[0-9]+)`)

// Child is a server running as a child process: a demo that re-executes
// itself (to kill it for real) or a test that measures a server alone.
type Child struct {
	Cmd  *exec.Cmd
	Addr string        // where it said it listens
	Done chan struct{} // closed when the process has exited
}

// StartChild starts cmd, whose stdout must not be set, and waits until it
// prints "listening on ADDR" or ctx ends. The rest of its output is read
// and discarded so it never blocks on a full pipe.
func StartChild(ctx context.Context, cmd *exec.Cmd) (*Child, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Child{Cmd: cmd, Done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		cmd.Wait()
		close(c.Done)
	}()
	select {
	case c.Addr = <-addr:
		return c, nil
	case <-c.Done:
		return nil, errors.New("child exited before listening")
	case <-ctx.Done():
		c.Kill()
		return nil, fmt.Errorf("child never listened: %w", ctx.Err())
	}
}

// Kill ends the child with SIGKILL, as a crash would, and waits for it.
func (c *Child) Kill() {
	c.Cmd.Process.Kill()
	<-c.Done
}
