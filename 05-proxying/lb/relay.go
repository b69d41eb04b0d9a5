package lb

import (
	"context"
	"errors"
	"io"
	"net"
)

// Copier moves bytes from src to dst until src reaches EOF or fails.
type Copier func(dst, src net.Conn) (int64, error)

// KernelCopy is io.Copy. Between two *net.TCPConn on Linux it never
// brings the bytes into user space: dst.ReadFrom(src) moves them with
// splice(2), socket to pipe to socket, inside the kernel.
func KernelCopy(dst, src net.Conn) (int64, error) { return io.Copy(dst, src) }

// UserCopy is the copy loop written by hand: read(2) into a 32 KiB buffer,
// write(2) it out. It hides ReadFrom and WriteTo on purpose, so each byte
// is copied into this process and out again; it exists to be compared with
// KernelCopy.
func UserCopy(dst, src net.Conn) (int64, error) {
	return io.CopyBuffer(onlyWriter{dst}, onlyReader{src}, make([]byte, 32<<10))
}

type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// Traffic is what a Relay moved.
type Traffic struct {
	AtoB, BtoA int64
}

// Relay copies a to b and b to a at the same time, with copy (KernelCopy
// if nil), until both directions have ended, then closes a and b.
//
// When one side's peer half-closes (its FIN arrives as EOF), Relay closes
// the other side's write half (a FIN to that peer) and keeps the opposite
// direction running: a client that sends a request and shuts down its
// write side still gets the whole answer. An error in either direction (a
// reset, a peer that vanished) or ctx ending closes both connections at
// once, so no goroutine or descriptor outlives the connection. Relay
// returns the first such error, or nil when both directions ended by EOF.
func Relay(ctx context.Context, a, b net.Conn, copy Copier) (Traffic, error) {
	if copy == nil {
		copy = KernelCopy
	}
	closeBoth := func() {
		a.Close()
		b.Close()
	}
	stop := context.AfterFunc(ctx, closeBoth)
	defer stop()
	var t Traffic
	errc := make(chan error, 1)
	go func() {
		var err error
		t.AtoB, err = oneWay(copy, b, a, closeBoth)
		errc <- err
	}()
	var err error
	t.BtoA, err = oneWay(copy, a, b, closeBoth)
	err = first(err, <-errc)
	closeBoth()
	if ctx.Err() != nil {
		return t, ctx.Err()
	}
	return t, err
}

// oneWay copies src to dst and passes src's EOF on as a half-close of dst.
func oneWay(copy Copier, dst, src net.Conn, closeBoth func()) (int64, error) {
	n, err := copy(dst, src)
	if err != nil {
		closeBoth()
		return n, err
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() != nil {
			// dst's peer is gone already: nothing left to tell it.
			closeBoth()
		}
		return n, nil
	}
	closeBoth() // no half-close on this kind of connection
	return n, nil
}

// first returns the error that says what happened: the one that is not
// merely the echo of Relay closing the connections itself.
func first(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case errors.Is(a, net.ErrClosed):
		return b
	}
	return a
}
