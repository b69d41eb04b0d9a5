package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/http2"

	"backend-protocols/02-protocols/grpc/grpcwire"
	"backend-protocols/02-protocols/grpc/interop"
	pw "backend-protocols/02-protocols/grpc/protowire"
	"backend-protocols/02-protocols/http2/h2tap"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// result is what the scenario saw.
type result struct {
	Created  *TodoItem   // createTodo's answer
	Request  http2Call   // the createTodo call on the wire
	Streamed []*TodoItem // readTodosStream
	Done     bool        // the stream ended with OK ("server done!")
	Listed   int         // readTodos
	Invalid  struct {
		Status       *grpcwire.Status
		WireMessage  string // grpc-message as sent, percent-encoded
		TrailersOnly bool
	}
	Deadline struct {
		Status  *grpcwire.Status
		Timeout string // grpc-timeout as sent
		Took    time.Duration
		Server  grpcwire.Code // how the server's handler ended
	}
	Cancel struct {
		Status   *grpcwire.Status
		Received int
		Reset    http2.ErrCode
		Server   grpcwire.Code
	}
	TLS struct {
		ALPN string
		ID   int32
	}
}

// http2Call is what one unary call looked like on the wire.
type http2Call struct {
	Headers  map[string]string // request headers
	Prefix   []byte            // the request DATA's first 5 bytes
	Status   string            // grpc-status in the trailers
	Trailers bool              // the trailers came in a HEADERS frame with END_STREAM
}

// calls logs every finished call on the timeline and hands it to the
// scenario.
type calls chan grpcwire.CallInfo

func (c calls) wait(ctx context.Context, method string) (grpcwire.CallInfo, error) {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case ci := <-c:
			if ci.Method == method {
				return ci, nil
			}
		case <-t.C:
			return grpcwire.CallInfo{}, fmt.Errorf("the server never finished %s", method)
		case <-ctx.Done():
			return grpcwire.CallInfo{}, ctx.Err()
		}
	}
}

// newServer returns the gRPC server with both services; every finished
// call is printed on tl and, if log is set, sent to it.
func newServer(tl *timeline.Timeline, log calls) *grpcwire.Server {
	srv := &grpcwire.Server{OnCall: func(ci grpcwire.CallInfo) {
		tl.Note("server", "%s %v in %s (%d in, %d out)", ci.Method, ci.Status.Code,
			timeline.Ms(ci.Duration), ci.Recv, ci.Sent)
		if log != nil {
			select {
			case log <- ci:
			default:
			}
		}
	}}
	(&todos{}).register(srv)
	interop.Register(srv)
	return srv
}

// httpServer serves h over h2c, or over TLS with ALPN h2 if ca is set.
func httpServer(h http.Handler, ca *certs.CA) (*http.Server, error) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		Protocols: new(http.Protocols)}
	if ca == nil {
		hs.Protocols.SetUnencryptedHTTP2(true)
		return hs, nil
	}
	hs.Protocols.SetHTTP2(true)
	cfg, err := ca.ServerConfig()
	if err != nil {
		return nil, err
	}
	cfg.NextProtos = []string{"h2"}
	hs.TLSConfig = cfg
	return hs, nil
}

const (
	todoService = "/todoPackage.Todo/"
	testService = "/" + interop.TestService + "/"
)

func scenario(ctx context.Context, tl *timeline.Timeline, text string) (res result, err error) {
	log := make(calls, 64)
	srv := newServer(tl, log)
	hs, err := httpServer(srv, nil)
	if err != nil {
		return res, err
	}
	run, err := demo.StartHTTP(ctx, hs, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer run.Close()
	w := newWire(tl)
	tap, err := h2tap.Listen("127.0.0.1:0", h2tap.Options{Target: run.Addr,
		MaxData: 64, OnFrame: w.onFrame})
	if err != nil {
		return res, err
	}
	defer tap.Close()
	tr := grpcwire.H2C()
	defer tr.CloseIdleConnections()
	c := grpcwire.NewClient("http://"+tap.Addr().String(), tr)
	tl.Note("server", "gRPC (todoPackage.Todo, grpc.testing.TestService) over h2c on %s; "+
		"a frame tap on %s relays and decodes", run.Addr, tap.Addr())

	steps := []struct {
		name string
		f    func() error
	}{
		{"createTodo", func() error { return stepCreate(ctx, tl, &res, c, w, text) }},
		{"readTodosStream", func() error { return stepStream(ctx, tl, &res, c) }},
		{"error", func() error { return stepInvalid(ctx, tl, &res, c, w) }},
		{"deadline", func() error { return stepDeadline(ctx, tl, &res, c, w, log) }},
		{"cancel", func() error { return stepCancel(ctx, tl, &res, c, w, log) }},
		{"TLS", func() error { return stepTLS(ctx, tl, &res, srv) }},
	}
	for _, s := range steps {
		if err := s.f(); err != nil {
			return res, fmt.Errorf("%s: %w", s.name, err)
		}
		tl.Printf("")
	}
	return res, nil
}

// stepCreate is the course's first call, every frame printed.
func stepCreate(ctx context.Context, tl *timeline.Timeline, res *result, c *grpcwire.Client,
	w *wire, text string) error {
	tl.Printf("== the course's client: createTodo {id: -1, text: %q}, every frame of the call", text)
	n := w.Len()
	w.Printing(true)
	var out TodoItem
	err := c.Invoke(ctx, todoService+"createTodo", &TodoItem{ID: -1, Text: text}, &out)
	w.Printing(false)
	if err != nil {
		return err
	}
	res.Created = &out
	tl.Note("client", "received from server %v", &out)
	res.Request = callOnWire(w.Since(n))
	minus1 := len(pw.AppendInt32(nil, 1, -1)) - 1
	tl.Printf("id -1 took %d bytes: an int32 varint is sign-extended to 64 bits; "+
		"declared sint32 (ZigZag) it would take %d", minus1, len(pw.AppendSint32(nil, 1, -1))-1)
	return nil
}

// callOnWire picks out of a unary call's frames what the scenario checks.
func callOnWire(frames []h2tap.Frame) http2Call {
	var call http2Call
	for _, f := range frames {
		switch {
		case f.Dir == h2tap.ClientToServer && f.Type() == http2.FrameHeaders:
			call.Headers = map[string]string{}
			for _, hf := range f.Fields {
				call.Headers[hf.Name] = hf.Value
			}
		case f.Dir == h2tap.ClientToServer && f.Type() == http2.FrameData && len(f.Data) >= 5:
			call.Prefix = f.Data[:5]
		case f.Dir == h2tap.ServerToClient && f.Type() == http2.FrameHeaders:
			if v, ok := f.Field("grpc-status"); ok {
				call.Status = v
				call.Trailers = f.Has(http2.FlagHeadersEndStream)
			}
		}
	}
	return call
}

// stepStream adds two to-dos and reads them all back as a stream.
func stepStream(ctx context.Context, tl *timeline.Timeline, res *result, c *grpcwire.Client) error {
	tl.Printf("== two more to-dos, then readTodosStream: one message per item, then the status")
	for _, t := range []string{"walk the dog", "read RFC 9113"} {
		if err := c.Invoke(ctx, todoService+"createTodo", &TodoItem{ID: -1, Text: t}, &TodoItem{}); err != nil {
			return err
		}
	}
	items, err := readStream(ctx, tl, c)
	if err != nil {
		return err
	}
	res.Streamed, res.Done = items, true
	var all TodoItems
	if err := c.Invoke(ctx, todoService+"readTodos", &VoidNoParam{}, &all); err != nil {
		return err
	}
	res.Listed = len(all.Items)
	tl.Note("client", "readTodos: %d items in one TodoItems message of %d bytes (a repeated field)",
		res.Listed, len(all.MarshalAppend(nil)))
	return nil
}

// stepInvalid: a call that fails at once is answered Trailers-Only.
func stepInvalid(ctx context.Context, tl *timeline.Timeline, res *result, c *grpcwire.Client, w *wire) error {
	tl.Printf("== an error: createTodo with no text, answered Trailers-Only (one HEADERS frame)")
	n := w.Len()
	w.Printing(true)
	err := c.Invoke(ctx, todoService+"createTodo", &TodoItem{ID: -1}, &TodoItem{})
	w.Printing(false)
	st := grpcwire.StatusOf(err)
	res.Invalid.Status = st
	tl.Note("client", "%v %q", st.Code, st.Message)
	if st.Code != grpcwire.InvalidArgument {
		return fmt.Errorf("got %v, want INVALID_ARGUMENT", err)
	}
	var fromServer []h2tap.Frame
	for _, f := range w.Since(n) {
		if f.Dir == h2tap.ServerToClient && f.StreamID() != 0 {
			fromServer = append(fromServer, f)
		}
	}
	if len(fromServer) > 0 {
		res.Invalid.WireMessage, _ = fromServer[0].Field("grpc-message")
		res.Invalid.TrailersOnly = len(fromServer) == 1 &&
			fromServer[0].Has(http2.FlagHeadersEndStream)
	}
	tl.Printf("grpc-message is percent-encoded on the wire (%q) and decoded by the client",
		res.Invalid.WireMessage)
	return nil
}

// slowRequest asks StreamingOutputCall for responses of 8 bytes, each
// after a pause.
func slowRequest(n int, pause time.Duration) *interop.StreamingOutputCallRequest {
	req := &interop.StreamingOutputCallRequest{}
	for range n {
		req.ResponseParameters = append(req.ResponseParameters,
			&interop.ResponseParameters{Size: 8, IntervalUs: int32(pause / time.Microsecond)})
	}
	return req
}

// stepDeadline: a 100 ms deadline on a call that needs a second.
func stepDeadline(ctx context.Context, tl *timeline.Timeline, res *result, c *grpcwire.Client,
	w *wire, log calls) error {
	const limit = 100 * time.Millisecond
	tl.Printf("== a deadline: StreamingOutputCall pausing 1 s before its answer, "+
		"called with a %v deadline", limit)
	n := w.Len()
	w.Printing(true)
	defer w.Printing(false)
	dctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	cs, err := c.NewStream(dctx, testService+"StreamingOutputCall")
	if err != nil {
		return err
	}
	cs.Send(slowRequest(1, time.Second))
	cs.CloseSend()
	err = cs.Recv(&interop.StreamingOutputCallResponse{})
	res.Deadline.Took = time.Since(start)
	res.Deadline.Status = grpcwire.StatusOf(err)
	tl.Note("client", "%v after %s", res.Deadline.Status.Code, timeline.Ms(res.Deadline.Took))
	ci, err := log.wait(ctx, testService+"StreamingOutputCall")
	if err != nil {
		return err
	}
	res.Deadline.Server = ci.Status.Code
	for _, f := range w.Since(n) {
		if v, ok := f.Field("grpc-timeout"); ok {
			res.Deadline.Timeout = v
		}
	}
	why := "the client's RST_STREAM reached the server before its own copy of the deadline fired"
	if ci.Status.Code == grpcwire.DeadlineExceeded {
		why = "the server's own copy of the deadline fired first"
	}
	tl.Printf("the client sent grpc-timeout %s, the time it had left; the handler's context "+
		"carried that deadline, and %s", res.Deadline.Timeout, why)
	return nil
}

// stepCancel: the client cancels a stream after two of five responses.
func stepCancel(ctx context.Context, tl *timeline.Timeline, res *result, c *grpcwire.Client,
	w *wire, log calls) error {
	tl.Printf("== a cancelled stream: five responses 50 ms apart; the client gives up after two")
	n := w.Len()
	w.Printing(true)
	defer w.Printing(false)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := c.NewStream(cctx, testService+"StreamingOutputCall")
	if err != nil {
		return err
	}
	cs.Send(slowRequest(5, 50*time.Millisecond))
	cs.CloseSend()
	for range 2 {
		if err := cs.Recv(&interop.StreamingOutputCallResponse{}); err != nil {
			return err
		}
		res.Cancel.Received++
	}
	tl.Note("client", "cancels after %d responses", res.Cancel.Received)
	cancel()
	res.Cancel.Status = grpcwire.StatusOf(cs.Recv(&interop.StreamingOutputCallResponse{}))
	tl.Note("client", "%v", res.Cancel.Status.Code)
	rst, err := w.Wait(ctx, n, isReset)
	if err != nil {
		return fmt.Errorf("RST_STREAM: %w", err)
	}
	res.Cancel.Reset = rst.ErrCode
	ci, err := log.wait(ctx, testService+"StreamingOutputCall")
	if err != nil {
		return err
	}
	res.Cancel.Server = ci.Status.Code
	return nil
}

// stepTLS: the same service over TLS; ALPN must choose h2.
func stepTLS(ctx context.Context, tl *timeline.Timeline, res *result, srv *grpcwire.Server) error {
	tl.Printf("== over TLS: the handshake's ALPN chooses h2, then the same frames, encrypted")
	ca, err := certs.NewCA()
	if err != nil {
		return err
	}
	hs, err := httpServer(srv, ca)
	if err != nil {
		return err
	}
	run, err := demo.StartHTTP(ctx, hs, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer run.Close()
	cfg := ca.ClientConfig()
	cfg.NextProtos = []string{"h2"}
	tr := grpcwire.TLS(cfg)
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := tls.Dialer{Config: cfg}
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			res.TLS.ALPN = conn.(*tls.Conn).ConnectionState().NegotiatedProtocol
		}
		return conn, err
	}
	defer tr.CloseIdleConnections()
	var out TodoItem
	err = grpcwire.NewClient(run.URL, tr).Invoke(ctx, todoService+"createTodo",
		&TodoItem{ID: -1, Text: "over TLS"}, &out)
	if err != nil {
		return err
	}
	res.TLS.ID = out.ID
	tl.Note("client", "ALPN %q; received from server %v", res.TLS.ALPN, &out)
	if res.TLS.ALPN != "h2" {
		return errors.New("ALPN did not choose h2")
	}
	return nil
}
