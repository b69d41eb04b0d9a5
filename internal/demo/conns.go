package demo

import (
	"context"
	"errors"
	"net"
	"sync"
)

// ServeConns accepts connections on ln and runs handle for each in its own
// goroutine, until ctx is done. Then it closes the listener and every
// connection still open, and waits for the handlers to return; handle
// must return once its connection is closed. It returns nil after ctx
// ends, or the error that stopped Accept.
func ServeConns(ctx context.Context, ln net.Listener, handle func(net.Conn)) error {
	var (
		mu     sync.Mutex
		conns  = map[net.Conn]struct{}{}
		closed bool
		wg     sync.WaitGroup
	)
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		closed = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		mu.Lock()
		if closed {
			mu.Unlock()
			c.Close()
			continue
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				c.Close()
			}()
			handle(c)
		})
	}
}
