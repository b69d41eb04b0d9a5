package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout bounds how long ServeHTTP waits for in-flight requests
// after its context is done.
const ShutdownTimeout = 5 * time.Second

// Listen opens a TCP listener on addr, with an error that names the address.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// ServeHTTP serves srv on ln until ctx is done, then shuts down gracefully:
// it stops accepting, cancels the context of every request still running
// (so long-lived handlers such as event streams and held polls return), and
// waits up to ShutdownTimeout for them. It returns nil after a clean
// shutdown and the serve error otherwise. If srv.TLSConfig is set, it
// serves TLS.
func ServeHTTP(ctx context.Context, srv *http.Server, ln net.Listener) error {
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	if srv.BaseContext == nil {
		srv.BaseContext = func(net.Listener) context.Context { return base }
	}
	srv.RegisterOnShutdown(cancelBase)
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	if err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// Running is an HTTP server started by StartHTTP.
type Running struct {
	Addr string // host:port it listens on
	URL  string // http://Addr or https://Addr

	stop context.CancelFunc
	errc chan error
}

// StartHTTP listens on addr (use "127.0.0.1:0" in scenarios and tests) and
// serves srv in the background with ServeHTTP until ctx is done or Close
// is called.
func StartHTTP(ctx context.Context, srv *http.Server, addr string) (*Running, error) {
	ln, err := Listen(addr)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx)
	r := &Running{Addr: ln.Addr().String(), stop: stop,
		errc: make(chan error, 1)}
	r.URL = "http://" + r.Addr
	if srv.TLSConfig != nil {
		r.URL = "https://" + r.Addr
	}
	go func() { r.errc <- ServeHTTP(ctx, srv, ln) }()
	return r, nil
}

// Close shuts the server down gracefully and returns ServeHTTP's result.
// It is safe to call more than once.
func (r *Running) Close() error {
	r.stop()
	err, ok := <-r.errc
	if ok {
		close(r.errc)
	}
	return err
}
