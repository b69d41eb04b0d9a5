package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// childEnv, when set, makes the program run as a broker child process
// whose queue log is the variable's value: the scenario kills such a
// child with SIGKILL to show that the log survives.
const childEnv = "PUBSUB_BROKER_CHILD"

// serveBroker runs a broker on addr until ctx is done.
func serveBroker(ctx context.Context, addr, logPath string, tl *timeline.Timeline) error {
	b, err := newBroker(tl, logPath)
	if err != nil {
		return err
	}
	defer b.close()
	ln, err := demo.Listen(addr)
	if err != nil {
		return err
	}
	durable := "in memory only"
	if logPath != "" {
		durable = "logged to " + logPath
	}
	tl.Note("broker", "listening on %s (work queues %s)", ln.Addr(), durable)
	return b.serve(ctx, ln)
}

// runChild is main for a broker child process: it prints where it listens
// and serves until killed.
func runChild(logPath string) int {
	tl := timeline.Stream(os.Stdout)
	if err := serveBroker(context.Background(), "127.0.0.1:0", logPath, tl); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startBroker starts this program again as a broker child with the given
// log, and waits until it listens.
func startBroker(ctx context.Context, logPath string) (*demo.Child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+logPath)
	cmd.Stderr = os.Stderr
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return demo.StartChild(ctx, cmd)
}
