package grpcwire

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"backend-protocols/internal/certs"
	"backend-protocols/internal/leak"
)

// calls records what the server says about finished calls.
type calls struct {
	mu   sync.Mutex
	done []CallInfo
	ch   chan CallInfo
}

func (c *calls) add(ci CallInfo) {
	c.mu.Lock()
	c.done = append(c.done, ci)
	c.mu.Unlock()
	select {
	case c.ch <- ci:
	default:
	}
}

// next waits for the server to finish a call of method.
func (c *calls) next(t *testing.T, method string) CallInfo {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ci := <-c.ch:
			if ci.Method == method {
				return ci
			}
		case <-timeout:
			t.Fatalf("the server never finished %s", method)
		}
	}
}

// echoService is the tests' service, one method of each kind and a few
// that misbehave on purpose.
func echoService(srv *Server) {
	srv.Register("test.Echo", map[string]Handler{
		// Unary echoes, and echoes metadata x-echo* into header and trailer.
		"Unary": Unary(func(s *ServerStream, in *msg) (Message, error) {
			md := s.Metadata()
			hdr, trl := Metadata{}, Metadata{}
			for k, v := range md {
				if strings.HasPrefix(k, "x-echo") {
					hdr[k], trl["t-"+k] = v, v
				}
			}
			if err := s.SetHeader(hdr); err != nil {
				return nil, err
			}
			s.SetTrailer(trl)
			return &msg{S: in.S, N: in.N}, nil
		}),
		// Fail ends with the code in N and the message in S, having sent
		// nothing: a Trailers-Only response.
		"Fail": Unary(func(s *ServerStream, in *msg) (Message, error) {
			s.SetTrailer(Metadata{"why-bin": {"\x01\x02"}})
			return nil, Errorf(Code(in.N), "%s", in.S)
		}),
		// Sleep waits N milliseconds or until the call's context ends.
		"Sleep": Unary(func(s *ServerStream, in *msg) (Message, error) {
			t := time.NewTimer(time.Duration(in.N) * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
				return &msg{S: "slept"}, nil
			case <-s.Context().Done():
				return nil, s.Context().Err()
			}
		}),
		// Deadline answers how long the server thinks the call has left.
		"Deadline": Unary(func(s *ServerStream, in *msg) (Message, error) {
			dl, ok := s.Context().Deadline()
			if !ok {
				return &msg{S: "none"}, nil
			}
			return &msg{N: int64(time.Until(dl) / time.Millisecond)}, nil
		}),
		// Count streams N messages, the last one after S says "hold" and
		// the client cancels.
		"Count": ServerStreaming(func(s *ServerStream, in *msg) error {
			for i := int64(1); i <= in.N; i++ {
				if err := s.Send(&msg{N: i}); err != nil {
					return err
				}
			}
			if in.S == "hold" {
				<-s.Context().Done()
				return s.Context().Err()
			}
			return nil
		}),
		// Sum adds the N of every request (client streaming).
		"Sum": func(s *ServerStream) error {
			var sum int64
			for {
				var in msg
				err := s.Recv(&in)
				if err == io.EOF {
					return s.Send(&msg{N: sum})
				}
				if err != nil {
					return err
				}
				sum += in.N
			}
		},
		// Chat answers each request at once (bidirectional).
		"Chat": func(s *ServerStream) error {
			for {
				var in msg
				err := s.Recv(&in)
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
				if err := s.Send(&msg{S: "re: " + in.S}); err != nil {
					return err
				}
			}
		},
		// Twice sends two responses to a unary call (a broken server).
		"Twice": func(s *ServerStream) error {
			var in msg
			if err := s.RecvOne(&in); err != nil {
				return err
			}
			s.Send(&in)
			return s.Send(&in)
		},
		// Big answers with a message of N bytes.
		"Big": Unary(func(s *ServerStream, in *msg) (Message, error) {
			return &msg{S: strings.Repeat("b", int(in.N))}, nil
		}),
	})
}

// testServer serves echoService over h2c (or TLS with ca) and returns a
// client for it and the server's call log.
func testServer(t *testing.T, ca *certs.CA, setup func(*Server)) (*Client, *calls, string) {
	t.Helper()
	log := &calls{ch: make(chan CallInfo, 64)}
	srv := &Server{OnCall: log.add}
	echoService(srv)
	if setup != nil {
		setup(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, Protocols: new(http.Protocols)}
	hs.Protocols.SetHTTP1(true)
	var tr *http.Transport
	scheme := "http"
	if ca != nil {
		if hs.TLSConfig, err = ca.ServerConfig(); err != nil {
			t.Fatal(err)
		}
		hs.Protocols.SetHTTP2(true)
		go hs.ServeTLS(ln, "", "")
		tr, scheme = TLS(ca.ClientConfig()), "https"
	} else {
		hs.Protocols.SetUnencryptedHTTP2(true)
		go hs.Serve(ln)
		tr = H2C()
	}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		hs.Close()
		if left := leak.Gone(2*time.Second, "grpcwire.(*ClientStream)",
			"grpcwire.(*Server)"); len(left) > 0 {
			t.Errorf("goroutines left:\n%s", strings.Join(left, "\n\n"))
		}
	})
	addr := scheme + "://" + ln.Addr().String()
	return NewClient(addr, tr), log, addr
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestUnary(t *testing.T) {
	for _, name := range []string{"h2c", "TLS"} {
		t.Run(name, func(t *testing.T) {
			var ca *certs.CA
			if name == "TLS" {
				ca, _ = certs.NewCA()
			}
			c, log, _ := testServer(t, ca, nil)
			var out msg
			var hdr, trl Metadata
			md := Metadata{"x-echo": {"v1", "v2"}, "x-echo-bin": {"\x00\xab\xff"}}
			err := c.Invoke(ctxTimeout(t, 5*time.Second), "/test.Echo/Unary",
				&msg{S: "hello", N: 42}, &out, WithMetadata(md), Header(&hdr), Trailer(&trl))
			if err != nil {
				t.Fatal(err)
			}
			if out != (msg{S: "hello", N: 42}) {
				t.Errorf("got %+v, want the request back", out)
			}
			if got := hdr["x-echo"]; len(got) != 2 || got[1] != "v2" {
				t.Errorf("got header x-echo %q, want v1 v2", got)
			}
			if got := hdr.Get("x-echo-bin"); got != "\x00\xab\xff" {
				t.Errorf("got header x-echo-bin %q, want the bytes back", got)
			}
			if got := trl.Get("t-x-echo-bin"); got != "\x00\xab\xff" {
				t.Errorf("got trailer t-x-echo-bin %q", got)
			}
			if ci := log.next(t, "/test.Echo/Unary"); ci.Status.Code != OK || ci.Recv != 1 || ci.Sent != 1 {
				t.Errorf("server logged %+v", ci)
			}
		})
	}
}

func TestStatusAndTrailersOnly(t *testing.T) {
	c, _, _ := testServer(t, nil, nil)
	special := "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
	var trl Metadata
	err := c.Invoke(ctxTimeout(t, 5*time.Second), "/test.Echo/Fail",
		&msg{S: special, N: int64(FailedPrecondition)}, &msg{}, Trailer(&trl))
	st := StatusOf(err)
	if st.Code != FailedPrecondition || st.Message != special {
		t.Errorf("got %v %q, want FAILED_PRECONDITION and the message intact", st.Code, st.Message)
	}
	if got := trl.Get("why-bin"); got != "\x01\x02" {
		t.Errorf("got trailer why-bin %q in a Trailers-Only response", got)
	}
}

func TestStreaming(t *testing.T) {
	c, log, _ := testServer(t, nil, nil)
	ctx := ctxTimeout(t, 5*time.Second)

	t.Run("server", func(t *testing.T) {
		var out msg
		if err := c.Invoke(ctx, "/test.Echo/Count", &msg{N: 3}, &out); CodeOf(err) != Unimplemented {
			t.Errorf("three responses to Invoke: got %v, want UNIMPLEMENTED", err)
		}
		cs, err := c.NewStream(ctx, "/test.Echo/Count")
		if err != nil {
			t.Fatal(err)
		}
		cs.Send(&msg{N: 5})
		cs.CloseSend()
		var got []int64
		for {
			err := cs.Recv(&out)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, out.N)
		}
		if len(got) != 5 || got[4] != 5 {
			t.Errorf("got %v, want 1..5", got)
		}
	})
	t.Run("client", func(t *testing.T) {
		cs, err := c.NewStream(ctx, "/test.Echo/Sum")
		if err != nil {
			t.Fatal(err)
		}
		for i := int64(1); i <= 100; i++ {
			if err := cs.Send(&msg{N: i}); err != nil {
				t.Fatal(err)
			}
		}
		var out msg
		if err := cs.CloseAndRecv(&out); err != nil || out.N != 5050 {
			t.Errorf("got %d, %v; want 5050", out.N, err)
		}
	})
	t.Run("bidirectional", func(t *testing.T) {
		cs, err := c.NewStream(ctx, "/test.Echo/Chat")
		if err != nil {
			t.Fatal(err)
		}
		// Ping-pong: each answer arrives before the next request is sent.
		for _, s := range []string{"a", "b", "c"} {
			if err := cs.Send(&msg{S: s}); err != nil {
				t.Fatal(err)
			}
			var out msg
			if err := cs.Recv(&out); err != nil || out.S != "re: "+s {
				t.Fatalf("got %q, %v; want re: %s", out.S, err, s)
			}
		}
		cs.CloseSend()
		if err := cs.Recv(&msg{}); err != io.EOF {
			t.Errorf("at the end: got %v, want io.EOF", err)
		}
		if ci := log.next(t, "/test.Echo/Chat"); ci.Recv != 3 || ci.Sent != 3 {
			t.Errorf("server logged %+v, want 3 in and 3 out", ci)
		}
	})
	t.Run("empty both ways", func(t *testing.T) {
		cs, err := c.NewStream(ctx, "/test.Echo/Chat")
		if err != nil {
			t.Fatal(err)
		}
		cs.CloseSend()
		if err := cs.Recv(&msg{}); err != io.EOF {
			t.Errorf("got %v, want io.EOF and no messages", err)
		}
	})
}

func TestDeadlines(t *testing.T) {
	c, log, _ := testServer(t, nil, nil)
	t.Run("sent as grpc-timeout", func(t *testing.T) {
		var out msg
		if err := c.Invoke(ctxTimeout(t, 3*time.Second), "/test.Echo/Deadline", &msg{}, &out); err != nil {
			t.Fatal(err)
		}
		if out.N < 2000 || out.N > 3000 {
			t.Errorf("server sees %d ms left, want about 3000", out.N)
		}
		err := c.Invoke(context.Background(), "/test.Echo/Deadline", &msg{}, &out)
		if err != nil || out.S != "none" {
			t.Errorf("without a deadline: got %+v, %v; want none", out, err)
		}
	})
	t.Run("exceeded", func(t *testing.T) {
		start := time.Now()
		err := c.Invoke(ctxTimeout(t, 100*time.Millisecond), "/test.Echo/Sleep", &msg{N: 5000}, &msg{})
		if CodeOf(err) != DeadlineExceeded {
			t.Errorf("got %v, want DEADLINE_EXCEEDED", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v to give up on a 100ms deadline", d)
		}
		// The server's handler saw its context end too.
		if ci := log.next(t, "/test.Echo/Sleep"); ci.Status.Code != DeadlineExceeded && ci.Status.Code != Canceled {
			t.Errorf("server ended the call with %v, want its context done", ci.Status.Code)
		}
	})
	t.Run("already passed", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		if err := c.Invoke(ctx, "/test.Echo/Unary", &msg{}, &msg{}); CodeOf(err) != DeadlineExceeded {
			t.Errorf("got %v, want DEADLINE_EXCEEDED", err)
		}
	})
}

func TestCancel(t *testing.T) {
	c, log, _ := testServer(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs, err := c.NewStream(ctx, "/test.Echo/Count")
	if err != nil {
		t.Fatal(err)
	}
	cs.Send(&msg{N: 1, S: "hold"})
	cs.CloseSend()
	var out msg
	if err := cs.Recv(&out); err != nil || out.N != 1 {
		t.Fatalf("got %+v, %v", out, err)
	}
	cancel()
	if err := cs.Recv(&out); CodeOf(err) != Canceled {
		t.Errorf("after cancel: got %v, want CANCELLED", err)
	}
	if ci := log.next(t, "/test.Echo/Count"); ci.Status.Code != Canceled {
		t.Errorf("server ended the call with %v, want CANCELLED", ci.Status.Code)
	}
	if err := cs.Send(&msg{}); err != io.EOF {
		t.Errorf("Send after the end: got %v, want io.EOF", err)
	}
}

func TestMessageSizeLimits(t *testing.T) {
	c, _, _ := testServer(t, nil, func(s *Server) { s.MaxRecvMsgSize = 1 << 10 })
	ctx := ctxTimeout(t, 5*time.Second)
	big := &msg{S: strings.Repeat("x", 2<<10)}
	if err := c.Invoke(ctx, "/test.Echo/Unary", big, &msg{}); CodeOf(err) != ResourceExhausted {
		t.Errorf("request over the server's limit: got %v, want RESOURCE_EXHAUSTED", err)
	}
	c.MaxRecvMsgSize = 100
	if err := c.Invoke(ctx, "/test.Echo/Big", &msg{N: 500}, &msg{}); CodeOf(err) != ResourceExhausted {
		t.Errorf("response over the client's limit: got %v, want RESOURCE_EXHAUSTED", err)
	}
	c.MaxSendMsgSize = 10
	if err := c.Invoke(ctx, "/test.Echo/Unary", big, &msg{}); CodeOf(err) != ResourceExhausted {
		t.Errorf("request over the client's send limit: got %v, want RESOURCE_EXHAUSTED", err)
	}
	// The server still serves.
	c.MaxRecvMsgSize, c.MaxSendMsgSize = 0, 0
	if err := c.Invoke(ctx, "/test.Echo/Unary", &msg{S: "ok"}, &msg{}); err != nil {
		t.Errorf("after: %v", err)
	}
}

func TestUnknownMethods(t *testing.T) {
	c, _, _ := testServer(t, nil, nil)
	ctx := ctxTimeout(t, 5*time.Second)
	for _, m := range []string{"/test.Echo/Nope", "/test.Nope/Unary", "/test.Echo", "/x/y/z"} {
		err := c.Invoke(ctx, m, &msg{}, &msg{})
		if CodeOf(err) != Unimplemented {
			t.Errorf("%s: got %v, want UNIMPLEMENTED", m, err)
		}
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tr := H2C()
	defer tr.CloseIdleConnections()
	err = NewClient("http://"+addr, tr).Invoke(ctxTimeout(t, 5*time.Second), "/a.B/C", &msg{}, &msg{})
	if CodeOf(err) != Unavailable {
		t.Errorf("got %v, want UNAVAILABLE", err)
	}
}

func TestInvalidMetadataIsRefused(t *testing.T) {
	c, _, _ := testServer(t, nil, nil)
	err := c.Invoke(ctxTimeout(t, 5*time.Second), "/test.Echo/Unary", &msg{}, &msg{},
		WithMetadata(Metadata{"grpc-reserved": {"x"}}))
	if CodeOf(err) != Internal {
		t.Errorf("got %v, want INTERNAL before anything is sent", err)
	}
	var st *Status
	if !errors.As(err, &st) {
		t.Errorf("got %T, want *Status", err)
	}
}

// TestConcurrentStreamsShareAConnection: 64 calls at once, one TCP
// connection.
func TestConcurrentStreamsShareAConnection(t *testing.T) {
	c, _, addr := testServer(t, nil, nil)
	ctx := ctxTimeout(t, 10*time.Second)
	// Open the connection first so the burst finds it.
	if err := c.Invoke(ctx, "/test.Echo/Unary", &msg{}, &msg{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			var out msg
			err := c.Invoke(ctx, "/test.Echo/Sleep", &msg{N: 50}, &out)
			if err == nil && out.S != "slept" {
				err = errors.New("wrong answer")
			}
			if err != nil {
				errs <- err
			}
			_ = i
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	_ = addr
}

// TestEndWhileSending: a call whose client has not half-closed still ends
// at once when its context does, by cancellation or deadline.
func TestEndWhileSending(t *testing.T) {
	c, log, _ := testServer(t, nil, nil)
	for _, name := range []string{"cancel", "deadline"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			want := Canceled
			if name == "deadline" {
				ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
				want = DeadlineExceeded
			}
			defer cancel()
			cs, err := c.NewStream(ctx, "/test.Echo/Chat")
			if err != nil {
				t.Fatal(err)
			}
			if err := cs.Send(&msg{S: "a"}); err != nil {
				t.Fatal(err)
			}
			if err := cs.Recv(&msg{}); err != nil {
				t.Fatal(err)
			}
			if name == "cancel" {
				cancel()
			}
			start := time.Now()
			if err := cs.Recv(&msg{}); CodeOf(err) != want {
				t.Errorf("got %v, want %v", err, want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v to end", d)
			}
			if ci := log.next(t, "/test.Echo/Chat"); ci.Status.Code != Canceled && ci.Status.Code != DeadlineExceeded {
				t.Errorf("server ended the call with %v, want its context done", ci.Status)
			}
		})
	}
}
