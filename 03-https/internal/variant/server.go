package variant

import (
	"errors"
	"net"
	"net/http"
)

// httpServer is an http.Server serving one listener in the background.
type httpServer struct {
	srv  *http.Server
	done chan error
}

// serve starts srv on ln.
func (h *httpServer) serve(srv *http.Server, ln net.Listener) {
	h.srv, h.done = srv, make(chan error, 1)
	go func() { h.done <- srv.Serve(ln) }()
}

// Close stops the server and closes its connections.
func (h *httpServer) Close() error {
	err := h.srv.Close()
	if serr := <-h.done; !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
