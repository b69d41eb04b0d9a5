package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/timeline"

	"golang.org/x/sys/unix"
)

// serve runs the three roles for real clients: the listener makes the
// socket, one acceptor thread accepts, and each connection gets a reader
// thread of its own that serves it until it closes.
func serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	var (
		lfd int
		err error
	)
	if err := <-onThread(func(tid int) error {
		lfd, _, err = listen(tl, tid, addr)
		return err
	}); err != nil {
		return err
	}
	return serveFD(ctx, tl, lfd)
}

// serveFD accepts on the listening descriptor lfd until ctx is done, then
// closes it.
func serveFD(ctx context.Context, tl *timeline.Timeline, lfd int) error {
	var (
		mu    sync.Mutex
		open  = map[int]bool{} // connections being read
		wg    sync.WaitGroup
		app   = servers.App("listener-acceptor-reader")
		accep = onThread(func(tid int) error {
			for {
				fd, err := accept(tl, tid, lfd)
				if err != nil {
					return err // EINVAL once the listener is shut down
				}
				mu.Lock()
				open[fd] = true
				mu.Unlock()
				wg.Go(func() {
					<-onThread(func(rtid int) error {
						_, err := read(tl, rtid, fd, app)
						if err != nil {
							tl.Note(fmt.Sprintf("reader[%d]", rtid), "%v", err)
						}
						mu.Lock()
						delete(open, fd)
						mu.Unlock()
						tl.Note(fmt.Sprintf("reader[%d]", rtid), "close(%d)", fd)
						return unix.Close(fd)
					})
				})
			}
		})
	)
	<-ctx.Done()
	// shutdown(2) wakes the threads blocked in accept4 and read; close(2)
	// would not.
	unix.Shutdown(lfd, unix.SHUT_RDWR)
	if err := <-accep; !errors.Is(err, unix.EINVAL) {
		tl.Note("acceptor", "stopped: %v", err)
	}
	mu.Lock()
	for fd := range open {
		unix.Shutdown(fd, unix.SHUT_RDWR)
	}
	mu.Unlock()
	wg.Wait()
	return unix.Close(lfd)
}
