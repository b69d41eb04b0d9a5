package demo

import (
	"context"
	"net"
)

// Start listens on addr and runs serve in the background until ctx is
// done or Close is called, like StartHTTP but for a server that is not
// net/http's (a hand-written engine). serve must return once its context
// is done; Close returns what it returned.
func Start(ctx context.Context, addr string,
	serve func(ctx context.Context, ln net.Listener) error) (*Running, error) {
	ln, err := Listen(addr)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx)
	r := &Running{Addr: ln.Addr().String(), URL: "http://" + ln.Addr().String(),
		stop: stop, errc: make(chan error, 1)}
	go func() { r.errc <- serve(ctx, ln) }()
	return r, nil
}
