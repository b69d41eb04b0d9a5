package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"backend-protocols/internal/timeline"
)

// greeting is what the course's server writes to every new connection.
const greeting = "Hello client!"

// serve is the course's TCP server: it greets each connection and prints
// what it receives, until ctx is done.
func serve(ctx context.Context, ln net.Listener, tl *timeline.Timeline) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := make(map[net.Conn]struct{})
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				wg.Wait()
				return nil
			}
			continue
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				c.Close()
			}()
			tl.Note("server", "TCP handshake successful with %s", c.RemoteAddr())
			if _, err := io.WriteString(c, greeting); err != nil {
				return
			}
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					tl.Note("server", "Received data %s", buf[:n])
				}
				if err != nil {
					return
				}
			}
		})
	}
}

// hello is the course's client: it reads the greeting and sends msg.
func hello(ctx context.Context, addr, msg string, tl *timeline.Timeline) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	buf := make([]byte, len(greeting))
	if _, err := io.ReadFull(c, buf); err != nil {
		return "", fmt.Errorf("reading the greeting: %w", err)
	}
	tl.Send("server", "client", "%s", buf)
	tl.Send("client", "server", "%s", msg)
	_, err = io.WriteString(c, msg)
	return string(buf), err
}
