package grpcwire

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Handler serves one call. It receives with s.Recv and sends with s.Send;
// the error it returns is the call's status (nil is OK; see StatusOf).
// It must return when s.Context() is done: the deadline passed or the
// client went away.
type Handler func(s *ServerStream) error

// Server serves gRPC calls over HTTP/2 as an http.Handler, so net/http
// speaks HTTP/2 for it: h2c with http.Protocols' UnencryptedHTTP2, or TLS
// with ALPN h2. Register every service before serving.
type Server struct {
	// MaxRecvMsgSize and MaxSendMsgSize bound a message; zero means the
	// defaults (4 MiB and 2 GiB).
	MaxRecvMsgSize int
	MaxSendMsgSize int
	// OnCall, if set, is told about every call when it ends.
	OnCall func(CallInfo)

	services map[string]map[string]Handler
}

// CallInfo describes a finished call, for logging.
type CallInfo struct {
	Method   string // /package.Service/Method
	Status   *Status
	Duration time.Duration
	Recv     int // messages received
	Sent     int // messages sent
}

// Register adds a service, fully qualified ("todoPackage.Todo"), and its
// methods by name.
func (s *Server) Register(service string, methods map[string]Handler) {
	if s.services == nil {
		s.services = make(map[string]map[string]Handler)
	}
	if s.services[service] == nil {
		s.services[service] = make(map[string]Handler)
	}
	for name, h := range methods {
		s.services[service][name] = h
	}
}

func (s *Server) maxRecv() int { return orDefault(s.MaxRecvMsgSize, DefaultMaxRecvMsgSize) }
func (s *Server) maxSend() int { return orDefault(s.MaxSendMsgSize, DefaultMaxSendMsgSize) }

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// isGRPC reports whether a content-type is application/grpc, possibly
// with +proto or parameters; other codecs (+json) are not served here.
func isGRPC(ct string) bool {
	rest, ok := strings.CutPrefix(ct, "application/grpc")
	if !ok {
		return false
	}
	rest, _, _ = strings.Cut(rest, ";")
	return rest == "" || rest == "+proto"
}

// ServeHTTP serves one call. Requests that are not gRPC at all get an
// HTTP error (505 for HTTP/1.x, 405 for a method other than POST, 415 for
// another content-type); gRPC requests that cannot be served get a
// Trailers-Only response with the status.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	switch {
	case r.ProtoMajor < 2:
		http.Error(w, "gRPC requires HTTP/2", http.StatusHTTPVersionNotSupported)
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "gRPC requires POST", http.StatusMethodNotAllowed)
		return
	case !isGRPC(r.Header.Get("Content-Type")):
		http.Error(w, "want content-type application/grpc", http.StatusUnsupportedMediaType)
		return
	}
	st := &ServerStream{w: w, r: r, srv: s, ctx: r.Context(),
		header: Metadata{}, trailer: Metadata{}, method: r.URL.Path}
	err := s.serve(st)
	status := StatusOf(err)
	st.finish(status)
	if s.OnCall != nil {
		s.OnCall(CallInfo{Method: st.method, Status: status,
			Duration: time.Since(start), Recv: st.recvd, Sent: st.sent})
	}
}

// serve checks the call's headers, finds its handler and runs it.
func (s *Server) serve(st *ServerStream) error {
	r := st.r
	if r.Header.Get("Te") != "trailers" {
		// A proxy that drops "te: trailers" likely drops trailers too:
		// answer with an HTTP error any client understands.
		st.httpStatus = http.StatusBadRequest
		return Errorf(Internal, `grpc: missing "te: trailers"`)
	}
	if enc := r.Header.Get("Grpc-Encoding"); enc != "" && enc != "identity" {
		st.w.Header().Set("Grpc-Accept-Encoding", "identity")
		return Errorf(Unimplemented, "grpc: grpc-encoding %q is not supported", enc)
	}
	svc, name, ok := splitMethod(st.method)
	if !ok {
		return Errorf(Unimplemented, "grpc: malformed method name %q", st.method)
	}
	methods, ok := s.services[svc]
	if !ok {
		return Errorf(Unimplemented, "grpc: unknown service %s", svc)
	}
	h, ok := methods[name]
	if !ok {
		return Errorf(Unimplemented, "grpc: unknown method %s for service %s", name, svc)
	}
	if v := r.Header.Get("Grpc-Timeout"); v != "" {
		d, err := ParseTimeout(v)
		if err != nil {
			return Errorf(Internal, "grpc: malformed grpc-timeout %q", v)
		}
		var cancel context.CancelFunc
		st.ctx, cancel = context.WithTimeout(st.ctx, d)
		defer cancel()
	}
	md, err := metadataFrom(r.Header)
	if err != nil {
		return Errorf(Internal, "grpc: %v", err)
	}
	st.md = md
	err = h(st)
	if err == nil && st.ctx.Err() != nil {
		// The handler finished, but after the deadline: the client has
		// given up on the answer.
		err = st.ctx.Err()
	}
	return err
}

// splitMethod splits "/package.Service/Method".
func splitMethod(p string) (service, method string, ok bool) {
	p, ok = strings.CutPrefix(p, "/")
	if !ok {
		return "", "", false
	}
	service, method, ok = strings.Cut(p, "/")
	return service, method, ok && service != "" && method != "" &&
		!strings.Contains(method, "/")
}

// ServerStream is one call on the server side.
type ServerStream struct {
	w      http.ResponseWriter
	r      *http.Request
	srv    *Server
	ctx    context.Context
	method string
	md     Metadata

	mu         sync.Mutex // guards what Send and the end of the call share
	header     Metadata
	trailer    Metadata
	sentHeader bool
	httpStatus int // for the HTTP-level errors of serve
	rbuf, wbuf []byte
	recvd      int
	sent       int
	eof        bool
}

// Context is done when the call's deadline passes or the client cancels.
func (s *ServerStream) Context() context.Context { return s.ctx }

// Method is the full method name, "/package.Service/Method".
func (s *ServerStream) Method() string { return s.method }

// Metadata is the metadata the client sent.
func (s *ServerStream) Metadata() Metadata { return s.md }

// SetHeader adds metadata to send with the response headers; it fails
// once they are sent.
func (s *ServerStream) SetHeader(md Metadata) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sentHeader {
		return errors.New("grpcwire: headers already sent")
	}
	for k, v := range md {
		s.header[strings.ToLower(k)] = append(s.header[strings.ToLower(k)], v...)
	}
	return nil
}

// SendHeader sends the response headers now, with md added.
func (s *ServerStream) SendHeader(md Metadata) error {
	if err := s.SetHeader(md); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writeHeader(); err != nil {
		return err
	}
	return http.NewResponseController(s.w).Flush()
}

// SetTrailer adds metadata to send with the status at the end.
func (s *ServerStream) SetTrailer(md Metadata) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range md {
		s.trailer[strings.ToLower(k)] = append(s.trailer[strings.ToLower(k)], v...)
	}
}

// writeHeader sends the Response-Headers: :status 200, the content-type
// and the header metadata. The caller holds s.mu.
func (s *ServerStream) writeHeader() error {
	if s.sentHeader {
		return nil
	}
	h := s.w.Header()
	h.Set("Content-Type", s.r.Header.Get("Content-Type"))
	if err := s.header.writeTo(h, ""); err != nil {
		return Errorf(Internal, "%v", err)
	}
	s.w.WriteHeader(http.StatusOK)
	s.sentHeader = true
	return nil
}

// Recv reads the next request message into m. It returns io.EOF when the
// client has half-closed; any other error is a status for the handler to
// return.
func (s *ServerStream) Recv(m Message) error {
	if s.eof {
		return io.EOF
	}
	b, err := ReadFrame(s.r.Body, s.rbuf, s.srv.maxRecv())
	if err != nil {
		if err == io.EOF {
			s.eof = true
			return io.EOF
		}
		var st *Status
		if errors.As(err, &st) {
			return err
		}
		// Reading failed because the stream is gone: the client reset
		// it, or the deadline passed.
		if cerr := s.ctx.Err(); cerr != nil {
			return cerr
		}
		return Errorf(Canceled, "grpc: request stream broken: %v", err)
	}
	s.rbuf = b[:0]
	s.recvd++
	return decode(b, m, "request")
}

// RecvOne reads the only request of a unary or server-streaming method:
// no request, or more than one, is UNIMPLEMENTED (a cardinality
// violation, in statuscodes.md).
func (s *ServerStream) RecvOne(m Message) error {
	err := s.Recv(m)
	if err == io.EOF {
		return Errorf(Unimplemented, "grpc: no request message for %s", s.method)
	}
	if err != nil {
		return err
	}
	var extra discard
	switch err := s.Recv(&extra); err {
	case io.EOF:
		return nil
	case nil:
		return Errorf(Unimplemented, "grpc: more than one request message for %s", s.method)
	default:
		return err
	}
}

type discard struct{}

func (discard) MarshalAppend(b []byte) []byte { return b }
func (discard) Unmarshal([]byte) error        { return nil }

// Send sends a response message, flushing it to the client at once.
func (s *ServerStream) Send(m Message) error { return s.send(m, true) }

func (s *ServerStream) send(m Message, flush bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ctx.Err(); err != nil {
		return err
	}
	b, err := AppendFrame(s.wbuf[:0], m, s.srv.maxSend())
	s.wbuf = b
	if err != nil {
		return err
	}
	if err := s.writeHeader(); err != nil {
		return err
	}
	if _, err := s.w.Write(b); err != nil {
		return s.brokenOr(err)
	}
	s.sent++
	if flush {
		if err := http.NewResponseController(s.w).Flush(); err != nil {
			return s.brokenOr(err)
		}
	}
	return nil
}

// brokenOr explains a failed write: usually the call is over.
func (s *ServerStream) brokenOr(err error) error {
	if cerr := s.ctx.Err(); cerr != nil {
		return cerr
	}
	return Errorf(Unavailable, "grpc: response stream broken: %v", err)
}

// finish ends the call with its status: in trailers after the headers
// and messages, or, if nothing was sent yet, as a Trailers-Only response
// (one HEADERS frame with END_STREAM).
func (s *ServerStream) finish(st *Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.w.Header()
	prefix := http.TrailerPrefix
	if !s.sentHeader {
		prefix = ""
		ct := s.r.Header.Get("Content-Type")
		if s.httpStatus != 0 {
			ct = "application/grpc"
		}
		h.Set("Content-Type", ct)
		if err := s.header.writeTo(h, ""); err != nil && st.Code == OK {
			st = &Status{Code: Internal, Message: err.Error()}
		}
	}
	if err := s.trailer.writeTo(h, prefix); err != nil && st.Code == OK {
		st = &Status{Code: Internal, Message: err.Error()}
	}
	h[prefix+"Grpc-Status"] = []string{strconv.Itoa(int(st.Code))}
	if st.Message != "" {
		h[prefix+"Grpc-Message"] = []string{EncodeMessage(st.Message)}
	}
	if !s.sentHeader {
		s.w.WriteHeader(nonZero(s.httpStatus, http.StatusOK))
		s.sentHeader = true
	}
}

func nonZero(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
