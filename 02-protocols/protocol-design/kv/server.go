package kv

import (
	"context"
	"errors"
	"io"
	"sync"
)

// Handler answers one request. It runs on its own goroutine, so a slow
// request does not hold up the ones behind it and replies leave in the
// order they finish. The reply's ID and Version are set by the server.
type Handler func(ctx context.Context, req Message) Message

// Server answers requests on codecs with a Handler.
type Server struct {
	Handler Handler
	// MaxVersion is the highest version this server speaks (1 or 2);
	// zero means MaxVersion. Requests in a higher version get
	// StatusUnsupportedVersion in this version.
	MaxVersion uint8
	// MaxInflight bounds the requests handled at once per connection;
	// zero means 64. Reading stops while it is reached.
	MaxInflight int
}

// Serve reads requests from codec until it ends and answers each. A frame
// it cannot decode gets an error reply with the frame's id and the
// connection carries on; a framing error ends it. Serve waits for its
// handlers before it returns, and returns nil on a clean end of stream.
func (s *Server) Serve(ctx context.Context, codec Codec) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	maxV := s.MaxVersion
	if maxV == 0 {
		maxV = MaxVersion
	}
	limit := s.MaxInflight
	if limit <= 0 {
		limit = 64
	}
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	// On a clean end of stream the handlers finish and their replies are
	// written (a client may half-close after its last request); on an
	// error they are cancelled first.
	defer wg.Wait()
	for {
		req, err := codec.ReadMessage()
		var fe *FrameError
		switch {
		case errors.As(err, &fe):
			rep := refusal(fe, maxV)
			if werr := codec.WriteMessage(&rep); werr != nil {
				return werr
			}
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			cancel()
			return err
		case req.Type.IsReply():
			rep := Message{Version: req.Version, Type: req.Type,
				Status: StatusBadRequest, ID: req.ID}
			if werr := codec.WriteMessage(&rep); werr != nil {
				return werr
			}
			continue
		case req.Version > maxV:
			rep := Message{Version: maxV, Type: req.Type.Reply(),
				Status: StatusUnsupportedVersion, ID: req.ID}
			if werr := codec.WriteMessage(&rep); werr != nil {
				return werr
			}
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-slots }()
			rep := s.Handler(ctx, req)
			rep.ID, rep.Version = req.ID, req.Version
			if !rep.Type.IsReply() {
				rep.Type = req.Type.Reply()
			}
			if codec.WriteMessage(&rep) != nil {
				cancel() // the peer is gone; stop the others too
			}
		})
	}
}

// refusal answers a frame that could not be decoded.
func refusal(fe *FrameError, maxV uint8) Message {
	rep := Message{Version: fe.Header.Version, Type: fe.Header.Type | replyBit,
		Status: StatusBadRequest, ID: fe.Header.ID}
	if errors.Is(fe.Err, ErrVersion) {
		rep.Status = StatusUnsupportedVersion
	}
	if rep.Version < Version1 || rep.Version > maxV {
		rep.Version = maxV
	}
	return rep
}
