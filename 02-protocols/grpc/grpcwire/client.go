package grpcwire

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
)

// UserAgent is what the client sends unless Client.UserAgent says
// otherwise, in the spec's "grpc-" Language "-" Variant "/" Version form.
const UserAgent = "grpc-go-grpcwire/0.1"

// Client makes calls to one gRPC server through an http.RoundTripper that
// speaks HTTP/2: H2C for clear text, TLS for HTTPS. Calls may run
// concurrently; over one HTTP/2 connection each is a stream.
type Client struct {
	// MaxRecvMsgSize and MaxSendMsgSize bound a message; zero means the
	// defaults (4 MiB and 2 GiB).
	MaxRecvMsgSize int
	MaxSendMsgSize int
	UserAgent      string

	base string
	rt   http.RoundTripper
}

// NewClient returns a client for target, "http://host:port" (h2c) or
// "https://host:port".
func NewClient(target string, rt http.RoundTripper) *Client {
	return &Client{base: strings.TrimSuffix(target, "/"), rt: rt}
}

// H2C returns a transport that speaks HTTP/2 in clear text with prior
// knowledge, which is how gRPC runs without TLS.
func H2C() *http.Transport {
	tr := &http.Transport{Protocols: new(http.Protocols), DisableCompression: true}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return tr
}

// TLS returns a transport that speaks only HTTP/2 over TLS: ALPN must
// choose h2.
func TLS(cfg *tls.Config) *http.Transport {
	tr := &http.Transport{Protocols: new(http.Protocols), DisableCompression: true,
		TLSClientConfig: cfg}
	tr.Protocols.SetHTTP2(true)
	return tr
}

func (c *Client) maxRecv() int { return orDefault(c.MaxRecvMsgSize, DefaultMaxRecvMsgSize) }
func (c *Client) maxSend() int { return orDefault(c.MaxSendMsgSize, DefaultMaxSendMsgSize) }

// CallOption adds to a call: metadata to send, or places to store the
// metadata received.
type CallOption func(*callOptions)

type callOptions struct {
	md              Metadata
	header, trailer *Metadata
}

// WithMetadata sends md with the call's headers.
func WithMetadata(md Metadata) CallOption {
	return func(o *callOptions) { o.md = md }
}

// Header stores the response header metadata in *md when the call ends.
func Header(md *Metadata) CallOption {
	return func(o *callOptions) { o.header = md }
}

// Trailer stores the trailer metadata in *md when the call ends.
func Trailer(md *Metadata) CallOption {
	return func(o *callOptions) { o.trailer = md }
}

// Invoke makes a unary call: one request, one response. It returns nil or
// the call's status as an error (*Status).
func (c *Client) Invoke(ctx context.Context, method string, req, resp Message, opts ...CallOption) error {
	frame, err := AppendFrame(nil, req, c.maxSend())
	if err != nil {
		return err
	}
	cs := c.newStream(ctx, method, opts)
	hreq, err := c.newRequest(cs.ctx, method, bytes.NewReader(frame), &cs.opts)
	if err != nil {
		cs.end(StatusOf(err))
		return err
	}
	cs.roundTrip(hreq)
	return cs.recvOne(resp)
}

// NewStream starts a streaming call. Send and CloseSend write requests,
// Recv reads responses until it returns io.EOF (status OK) or the status.
// The call ends when Recv returns an error or ctx is done; a caller that
// stops reading earlier must cancel ctx.
func (c *Client) NewStream(ctx context.Context, method string, opts ...CallOption) (*ClientStream, error) {
	cs := c.newStream(ctx, method, opts)
	pr, pw := io.Pipe()
	req, err := c.newRequest(cs.ctx, method, pr, &cs.opts)
	if err != nil {
		cs.end(StatusOf(err))
		return nil, err
	}
	cs.pr, cs.pw = pr, pw
	// net/http notices a cancelled request only between reads of its
	// body; a caller that has not half-closed leaves it blocked in one.
	// Ending the body when the call's context ends lets the transport
	// reset the stream (RST_STREAM CANCEL) at once.
	context.AfterFunc(cs.ctx, func() { pr.CloseWithError(cs.ctx.Err()) })
	go cs.roundTrip(req)
	return cs, nil
}

func (c *Client) newStream(ctx context.Context, method string, opts []CallOption) *ClientStream {
	cs := &ClientStream{c: c, parent: ctx, method: method, done: make(chan struct{})}
	for _, o := range opts {
		o(&cs.opts)
	}
	cs.ctx, cs.cancel = context.WithCancel(ctx)
	return cs
}

// newRequest builds the Request-Headers: POST to /Service/Method,
// content-type, te: trailers, grpc-timeout from the context's deadline,
// the user agent and the metadata.
func (c *Client) newRequest(ctx context.Context, method string, body io.Reader,
	o *callOptions) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method, body)
	if err != nil {
		return nil, Errorf(Internal, "grpc: %v", err)
	}
	h := req.Header
	h["Content-Type"] = contentType
	h["Te"] = teTrailers
	h["User-Agent"] = defaultUA
	if c.UserAgent != "" {
		h["User-Agent"] = []string{c.UserAgent}
	}
	if dl, ok := ctx.Deadline(); ok {
		h["Grpc-Timeout"] = []string{EncodeTimeout(time.Until(dl))}
	}
	if err := o.md.writeTo(h, ""); err != nil {
		return nil, Errorf(Internal, "%v", err)
	}
	return req, nil
}

// Header values every request carries, shared: net/http only reads them.
var (
	contentType = []string{"application/grpc"}
	teTrailers  = []string{"trailers"}
	defaultUA   = []string{UserAgent}
)

// ClientStream is one call on the client side. One goroutine may send
// while another receives.
type ClientStream struct {
	c      *Client
	parent context.Context // the caller's: its error says deadline or cancel
	ctx    context.Context
	cancel context.CancelFunc
	method string
	opts   callOptions
	pr     *io.PipeReader // the request body, for streaming calls
	pw     *io.PipeWriter
	wbuf   []byte

	done    chan struct{} // closed when the response headers are in
	hdrErr  *Status       // why there are no headers, set before done
	resp    *http.Response
	header  Metadata
	trailer Metadata
	status  *Status // set when the call is over
	rbuf    []byte
}

// Send sends a request message. It returns io.EOF if the call is already
// over; Recv then says how it ended.
func (cs *ClientStream) Send(m Message) error {
	b, err := AppendFrame(cs.wbuf[:0], m, cs.c.maxSend())
	cs.wbuf = b
	if err != nil {
		return err
	}
	if _, err := cs.pw.Write(b); err != nil {
		return io.EOF
	}
	return nil
}

// CloseSend half-closes the call: the request stream ends (END_STREAM).
func (cs *ClientStream) CloseSend() error { return cs.pw.Close() }

// CloseAndRecv half-closes and reads the one response of a
// client-streaming call.
func (cs *ClientStream) CloseAndRecv(m Message) error {
	cs.CloseSend()
	return cs.recvOne(m)
}

// Header waits for the response headers and returns their metadata.
func (cs *ClientStream) Header() (Metadata, error) {
	<-cs.done
	if cs.hdrErr != nil {
		return nil, cs.hdrErr
	}
	return cs.header, nil
}

// Trailer returns the trailer metadata once Recv has returned an error.
func (cs *ClientStream) Trailer() Metadata { return cs.trailer }

// Recv reads the next response into m. At the end of the call it returns
// io.EOF if the status is OK, or else the status (*Status).
func (cs *ClientStream) Recv(m Message) error {
	<-cs.done
	if cs.status != nil {
		return cs.result()
	}
	b, err := ReadFrame(cs.resp.Body, cs.rbuf, cs.c.maxRecv())
	switch {
	case err == io.EOF:
		cs.end(cs.trailerStatus())
		return cs.result()
	case err != nil:
		var st *Status
		if !errors.As(err, &st) {
			st = cs.brokenStatus(err)
		}
		cs.end(st)
		return st
	}
	cs.rbuf = b[:0]
	if err := decode(b, m, "response"); err != nil {
		cs.end(StatusOf(err))
		return err
	}
	return nil
}

// recvOne reads the only response of a unary or client-streaming call.
func (cs *ClientStream) recvOne(m Message) error {
	err := cs.Recv(m)
	if err == io.EOF {
		return Errorf(Unimplemented, "grpc: no response message for %s", cs.method)
	}
	if err != nil {
		return err
	}
	var extra discard
	switch err := cs.Recv(&extra); err {
	case io.EOF:
		return nil
	case nil:
		cs.end(&Status{Code: Unimplemented,
			Message: "grpc: more than one response message for " + cs.method})
		return cs.status
	default:
		return err
	}
}

// result is what Recv returns once the call is over.
func (cs *ClientStream) result() error {
	if cs.status.Code == OK {
		return io.EOF
	}
	return cs.status
}

// roundTrip sends the request and reads the response headers; a response
// that is not gRPC, or is Trailers-Only, ends the call here.
func (cs *ClientStream) roundTrip(req *http.Request) {
	defer close(cs.done)
	resp, err := cs.c.rt.RoundTrip(req)
	if err != nil {
		cs.hdrErr = cs.brokenStatus(err)
		cs.end(cs.hdrErr)
		return
	}
	cs.resp = resp
	st := &Status{}
	hdrStatus, hasStatus := resp.Header["Grpc-Status"]
	switch {
	case resp.StatusCode != http.StatusOK:
		if !hasStatus {
			cs.end(statusFromHTTP(resp.StatusCode))
			return
		}
	case !isGRPC(resp.Header.Get("Content-Type")):
		cs.end(&Status{Code: Internal, Message: "grpc: response content-type " +
			strconv.Quote(resp.Header.Get("Content-Type"))})
		return
	}
	md, err := metadataFrom(resp.Header)
	if err != nil {
		cs.end(&Status{Code: Internal, Message: "grpc: " + err.Error()})
		return
	}
	if hasStatus { // Trailers-Only: the headers are the trailers
		cs.trailer = md
		*st = parseStatus(hdrStatus, resp.Header["Grpc-Message"])
		cs.end(st)
		return
	}
	cs.header = md
}

// trailerStatus reads the status from the trailers at the end of the
// response stream.
func (cs *ClientStream) trailerStatus() *Status {
	t := cs.resp.Trailer
	md, err := metadataFrom(t)
	if err != nil {
		return &Status{Code: Internal, Message: "grpc: " + err.Error()}
	}
	cs.trailer = md
	code, ok := t["Grpc-Status"]
	if !ok {
		return &Status{Code: Internal, Message: "grpc: server closed the stream without sending trailers"}
	}
	st := parseStatus(code, t["Grpc-Message"])
	return &st
}

// parseStatus reads grpc-status and grpc-message; a status that is not a
// number is UNKNOWN (statuscodes.md: "error parsing returned status").
func parseStatus(code, msg []string) Status {
	var st Status
	if len(msg) > 0 {
		st.Message = DecodeMessage(msg[0])
	}
	n, err := strconv.ParseUint(code[0], 10, 32)
	if err != nil {
		return Status{Code: Unknown, Message: "grpc: malformed grpc-status " +
			strconv.Quote(code[0]) + ": " + st.Message}
	}
	st.Code = Code(n)
	return st
}

// brokenStatus explains a failed request or response stream: the
// caller's deadline or cancellation, the server's RST_STREAM, or a
// connection that failed.
func (cs *ClientStream) brokenStatus(err error) *Status {
	// The deadline is checked on the clock, not only through the
	// context: a server's RST_STREAM CANCEL at the deadline can arrive
	// before the context's timer fires, and the spec says such a call
	// failed with DEADLINE_EXCEEDED.
	dl, ok := cs.parent.Deadline()
	switch perr := cs.parent.Err(); {
	case errors.Is(perr, context.DeadlineExceeded) || ok && !time.Now().Before(dl):
		return &Status{Code: DeadlineExceeded, Message: "context deadline exceeded"}
	case errors.Is(perr, context.Canceled):
		return &Status{Code: Canceled, Message: "context canceled"}
	}
	var se http2.StreamError
	if errors.As(err, &se) {
		return statusFromReset(se.Code)
	}
	var st *Status
	if errors.As(err, &st) {
		return st
	}
	return &Status{Code: Unavailable, Message: "grpc: " + err.Error()}
}

// end records the call's outcome and releases its request: a call ended
// early is cancelled, which resets the HTTP/2 stream (RST_STREAM CANCEL).
func (cs *ClientStream) end(st *Status) {
	if cs.status != nil {
		return
	}
	cs.status = st
	if cs.resp != nil {
		cs.resp.Body.Close()
	}
	if cs.pr != nil {
		cs.pr.CloseWithError(io.EOF)
	}
	cs.cancel()
	cs.store()
}

// store hands the metadata to the Header and Trailer call options.
func (cs *ClientStream) store() {
	if cs.opts.header != nil {
		*cs.opts.header = cs.header
	}
	if cs.opts.trailer != nil {
		*cs.opts.trailer = cs.trailer
	}
}
