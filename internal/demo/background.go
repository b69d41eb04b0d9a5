package demo

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Background runs a demo's server side (its -serve mode, written to call
// ready with its address once it listens) in a goroutine, for a test
// that points a real client at it. It returns that address and stop,
// which cancels the server's context and returns what serve returned.
func Background(serve func(ctx context.Context, ready func(addr string)) error) (
	addr string, stop func() error, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	up := make(chan string, 1)
	go func() {
		done <- serve(ctx, func(a string) {
			select {
			case up <- a:
			default:
			}
		})
	}()
	stop = func() error {
		cancel()
		return <-done
	}
	select {
	case addr = <-up:
		return addr, stop, nil
	case err := <-done:
		cancel()
		if err == nil {
			err = errors.New("returned before it listened")
		}
		return "", nil, fmt.Errorf("serve: %w", err)
	case <-time.After(10 * time.Second):
		stop()
		return "", nil, errors.New("serve: did not listen within 10s")
	}
}
