package lb

import (
	"context"
	"fmt"
	"io"
	"net"

	"backend-protocols/internal/demo"
)

// Sink is a TCP server for showing half-close: it reads until the client
// shuts down its write side, then writes "NAME read N bytes\n" and
// closes. Through a proxy that does not pass the FIN on, the client waits
// for that line for ever.
type Sink struct {
	Name, Addr string

	stop context.CancelFunc
	done chan struct{}
}

// StartSink starts a sink called name on a fresh loopback port.
func StartSink(name string) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Sink{Name: name, Addr: ln.Addr().String(), stop: stop,
		done: make(chan struct{})}
	go func() {
		defer close(s.done)
		demo.ServeConns(ctx, ln, func(c net.Conn) {
			n, err := io.Copy(io.Discard, c)
			if err != nil {
				return // reset, or closed by Close: nobody to answer
			}
			fmt.Fprintf(c, "%s read %d bytes\n", name, n)
		})
	}()
	return s, nil
}

// Close stops the sink and ends its connections.
func (s *Sink) Close() error {
	s.stop()
	<-s.done
	return nil
}

// HalfClose is the client side of a Sink: it writes n bytes to c, shuts
// down c's write side (a FIN), and reads the answer from r (c itself if r
// is nil) until the other side closes.
func HalfClose(c *net.TCPConn, r io.Reader, n int64) (string, error) {
	if r == nil {
		r = c
	}
	if _, err := io.Copy(c, io.LimitReader(zeros{}, n)); err != nil {
		return "", err
	}
	if err := c.CloseWrite(); err != nil {
		return "", err
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}
