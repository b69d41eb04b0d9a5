package h3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"backend-protocols/02-protocols/http3/quic"
)

// Server serves HTTP/3 requests with an http.Handler, as http.Server
// does over TCP: each request stream becomes an *http.Request, and the
// handler's ResponseWriter writes HEADERS and DATA frames.
type Server struct {
	// Handler answers requests; nil means http.DefaultServeMux.
	Handler http.Handler
	// TLSConfig holds the certificates. Listen sets NextProtos to h3.
	TLSConfig *tls.Config
	// QUICConfig sets transport options; its TLSConfig is ignored.
	QUICConfig *quic.Config
	// MaxHeaderBytes is the SETTINGS_MAX_FIELD_SECTION_SIZE declared to
	// clients: the largest request header accepted (default 64 KiB).
	MaxHeaderBytes int
	// ErrorLog receives handler panics; nil means the log package's
	// standard logger.
	ErrorLog *log.Logger

	mu       sync.Mutex
	eps      map[*quic.Endpoint]bool
	conns    map[*serverConn]bool
	shutdown bool
	handlers sync.WaitGroup
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

// Listen opens the server's UDP endpoint on addr.
func (s *Server) Listen(addr string) (*quic.Endpoint, error) {
	qc, err := s.EndpointConfig()
	if err != nil {
		return nil, err
	}
	return quic.Listen("udp", addr, qc)
}

// EndpointConfig returns the QUIC configuration Listen uses: QUICConfig
// with TLSConfig offering only the "h3" ALPN token. Use it to run the
// server on a socket of your own:
//
//	cfg, _ := srv.EndpointConfig()
//	ep, _ := quic.NewEndpoint(udpConn, cfg)
//	srv.Serve(ep)
func (s *Server) EndpointConfig() (*quic.Config, error) {
	if s.TLSConfig == nil {
		return nil, errors.New("h3: Server.TLSConfig is required")
	}
	var qc quic.Config
	if s.QUICConfig != nil {
		qc = *s.QUICConfig
	}
	qc.TLSConfig = s.TLSConfig.Clone()
	qc.TLSConfig.NextProtos = []string{NextProto}
	return &qc, nil
}

// ListenAndServe listens on the UDP address addr and serves.
func (s *Server) ListenAndServe(addr string) error {
	ep, err := s.Listen(addr)
	if err != nil {
		return err
	}
	return s.Serve(ep)
}

// Serve accepts connections on ep until it closes. The endpoint's TLS
// configuration must offer the "h3" ALPN token (Listen does that).
func (s *Server) Serve(ep *quic.Endpoint) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		ep.Close()
		return ErrServerClosed
	}
	if s.eps == nil {
		s.eps = map[*quic.Endpoint]bool{}
	}
	s.eps[ep] = true
	s.mu.Unlock()
	for {
		c, err := ep.Accept(context.Background())
		if err != nil {
			s.mu.Lock()
			down := s.shutdown
			s.mu.Unlock()
			if down || errors.Is(err, net.ErrClosed) {
				return ErrServerClosed
			}
			return err
		}
		go s.ServeConn(c)
	}
}

// serverConn is one client's connection.
type serverConn struct {
	*conn
	s *Server

	mu       sync.Mutex
	nextID   uint64 // lowest request stream id not yet accepted
	goaway   bool
	inflight sync.WaitGroup
}

// ServeConn serves HTTP/3 on one established QUIC connection, until it
// closes. Serve calls it for each connection it accepts.
func (s *Server) ServeConn(qc *quic.Conn) {
	sc := &serverConn{conn: newConn(qc, true, uint64(s.MaxHeaderBytes)), s: s}
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		qc.CloseWithError(uint64(ErrCodeNoError), "shutting down")
		return
	}
	if s.conns == nil {
		s.conns = map[*serverConn]bool{}
	}
	s.conns[sc] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-qc.Done()
		cancel()
	}()
	if err := sc.start(ctx); err != nil {
		qc.CloseWithError(uint64(ErrCodeInternalError), err.Error())
		return
	}
	for {
		st, err := qc.AcceptStream(ctx)
		if err != nil {
			return
		}
		sc.mu.Lock()
		rejected := sc.goaway
		if !rejected {
			sc.nextID = st.ID() + 4
			sc.inflight.Add(1)
			s.handlers.Add(1)
		}
		sc.mu.Unlock()
		if rejected {
			// Past GOAWAY: the client may retry elsewhere (Section 5.2).
			st.Reset(uint64(ErrCodeRequestRejected))
			st.CloseRead(uint64(ErrCodeRequestRejected))
			continue
		}
		go func() {
			defer s.handlers.Done()
			defer sc.inflight.Done()
			sc.serveStream(ctx, st)
		}()
	}
}

// streamError ends one request stream with an HTTP/3 error, or the whole
// connection if the error is a connection error.
func (sc *serverConn) streamError(st *quic.Stream, err error) {
	var e *Error
	if !errors.As(err, &e) {
		st.Reset(uint64(ErrCodeInternalError))
		st.CloseRead(uint64(ErrCodeInternalError))
		return
	}
	if isConnError(e.Code) {
		sc.fail(e)
		return
	}
	st.Reset(uint64(e.Code))
	st.CloseRead(uint64(e.Code))
}

// serveStream reads one request, runs the handler and sends the response.
func (sc *serverConn) serveStream(ctx context.Context, st *quic.Stream) {
	fr := newFrameReader(st)
	fields, err := readHeaders(fr, sc.maxFieldSection, true)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errorf(ErrCodeRequestIncomplete, "stream ended before HEADERS")
		}
		sc.streamError(st, err)
		return
	}
	req, err := requestFromFields(fields)
	if err != nil {
		sc.streamError(st, err)
		return
	}
	qc := sc.qc
	req.RemoteAddr = qc.RemoteAddr().String()
	cs := qc.ConnectionState()
	req.TLS = &cs
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rctx = context.WithValue(rctx, http.LocalAddrContextKey, qc.LocalAddr())
	if st.Early() {
		rctx = context.WithValue(rctx, earlyKey{}, true)
	}
	req = req.WithContext(rctx)
	b := &body{fr: fr, max: sc.maxFieldSection, isServer: true,
		remain: req.ContentLength,
		onErr:  func(err error) { sc.streamError(st, err) },
		close:  func() { st.CloseRead(uint64(ErrCodeNoError)) }}
	req.Body = b
	w := &responseWriter{st: st, req: req, header: http.Header{},
		maxField: sc.peerMaxFieldSection()}
	h := sc.s.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	if !sc.runHandler(h, w, req, st) {
		return
	}
	if err := w.finish(); err != nil {
		st.Reset(uint64(ErrCodeInternalError))
	}
	// A complete response may leave the request body unread: tell the
	// client to stop sending it (Section 4.1.2).
	b.Close()
	// The request counts as in flight until the client has the whole
	// response, so that Shutdown does not cut it off.
	select {
	case <-st.WriteDone():
	case <-ctx.Done():
	}
}

// earlyKey marks a request that arrived in 0-RTT packets.
type earlyKey struct{}

// IsEarly reports whether the request arrived in 0-RTT packets, before
// the handshake completed. Such a request may be a replay (RFC 9001,
// Section 9.2; RFC 8470): a handler should act on it only if it is
// safe to repeat, and may answer 425 Too Early otherwise. Servers accept
// 0-RTT only with QUICConfig.Allow0RTT set.
func IsEarly(r *http.Request) bool {
	v, _ := r.Context().Value(earlyKey{}).(bool)
	return v
}

// runHandler calls the handler, turning a panic into a stream reset as
// net/http turns one into a closed connection. It reports whether the
// handler returned normally.
func (sc *serverConn) runHandler(h http.Handler, w *responseWriter,
	r *http.Request, st *quic.Stream) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				sc.s.logf("h3: panic serving %v: %v", r.RemoteAddr, p)
			}
			st.Reset(uint64(ErrCodeInternalError))
			st.CloseRead(uint64(ErrCodeInternalError))
			ok = false
		}
	}()
	h.ServeHTTP(w, r)
	return true
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// Shutdown stops the server gracefully: each connection gets GOAWAY,
// requests already accepted finish, then connections and endpoints
// close. If ctx ends first, everything is closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		c.goaway = true
		id := c.nextID
		c.mu.Unlock()
		c.sendGoaway(id)
	}
	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.Close()
	return err
}

// Close closes every connection and endpoint at once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.shutdown = true
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	eps := make([]*quic.Endpoint, 0, len(s.eps))
	for ep := range s.eps {
		eps = append(eps, ep)
	}
	s.eps = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.qc.CloseWithError(uint64(ErrCodeNoError), "server closed")
	}
	for _, ep := range eps {
		ep.Close()
	}
	return nil
}

// responseWriter writes a response as HEADERS and DATA frames.
type responseWriter struct {
	st       *quic.Stream
	req      *http.Request
	header   http.Header
	maxField uint64

	status     int
	wroteHead  bool // WriteHeader called (final status)
	sentHead   bool // HEADERS frame sent
	buf        []byte
	written    int64
	declaredCL int64
	err        error
	hdr        [16]byte // scratch for DATA frame headers
}

// bufSize is how much body a handler may write before the response
// headers go out; a response that fits gets a Content-Length.
const bufSize = 16 << 10

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHead {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("h3: invalid WriteHeader code %v", code))
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// An interim response, such as 103 Early Hints, goes out now.
		w.writeFields(code, w.header, true)
		return
	}
	w.wroteHead = true
	w.status = code
	w.declaredCL = -1
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.declaredCL = n
		}
	}
}

func bodyAllowed(code int) bool {
	return code != http.StatusNoContent && code != http.StatusNotModified &&
		(code < 100 || code > 199)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHead {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declaredCL >= 0 && w.written+int64(len(p)) > w.declaredCL {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.req.Method == http.MethodHead {
		return len(p), nil
	}
	if len(w.buf)+len(p) <= bufSize {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	if err := w.flushBuf(); err != nil {
		return 0, err
	}
	if err := w.writeData(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeData sends one DATA frame.
func (w *responseWriter) writeData(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	hdr := quic.AppendVarint(w.hdr[:0], frameData)
	hdr = quic.AppendVarint(hdr, uint64(len(p)))
	if _, err := w.st.Write(hdr); err != nil {
		w.err = err
		return err
	}
	if _, err := w.st.Write(p); err != nil {
		w.err = err
		return err
	}
	return nil
}

// flushBuf sends the headers if they are not out yet, then the buffered
// body.
func (w *responseWriter) flushBuf() error {
	if !w.sentHead {
		w.sentHead = true
		if err := w.writeFields(w.status, w.header, false); err != nil {
			return err
		}
	}
	b := w.buf
	w.buf = w.buf[:0]
	return w.writeData(b)
}

// Flush sends everything written so far.
func (w *responseWriter) Flush() { w.FlushError() }

// FlushError is Flush reporting the error, for http.ResponseController.
func (w *responseWriter) FlushError() error {
	if !w.wroteHead {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return w.err
	}
	return w.flushBuf()
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *responseWriter) SetReadDeadline(t time.Time) error  { return w.st.SetReadDeadline(t) }
func (w *responseWriter) SetWriteDeadline(t time.Time) error { return w.st.SetWriteDeadline(t) }

// EnableFullDuplex serves http.ResponseController: HTTP/3 always is.
func (w *responseWriter) EnableFullDuplex() error { return nil }

// writeFields sends a HEADERS frame for a response head.
func (w *responseWriter) writeFields(code int, h http.Header, interim bool) error {
	fields := []headerField{{":status", strconv.Itoa(code)}}
	if !interim {
		if h.Get("Date") == "" {
			fields = append(fields, headerField{"date",
				time.Now().UTC().Format(http.TimeFormat)})
		}
		if h.Get("Content-Type") == "" && len(w.buf) > 0 &&
			bodyAllowed(code) && h.Get("Content-Encoding") == "" {
			fields = append(fields, headerField{"content-type",
				http.DetectContentType(w.buf)})
		}
	}
	fields = appendHeaderFields(fields, responseHeader(h))
	p := encodeFields(nil, fields)
	if _, err := w.st.Write(appendFrame(nil, frameHeaders, p)); err != nil {
		w.err = err
		return err
	}
	return nil
}

// responseHeader drops the trailer declarations from the header block.
func responseHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		if k == "Trailer" || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		out[k] = v
	}
	return out
}

// trailers collects the trailer fields the handler set: the keys it
// declared in "Trailer", and any with http.TrailerPrefix.
func (w *responseWriter) trailers() http.Header {
	t := http.Header{}
	for _, decl := range w.header.Values("Trailer") {
		for _, k := range strings.Split(decl, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			if vs, ok := w.header[k]; ok && k != "" {
				t[k] = vs
			}
		}
	}
	for k, vs := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			t[http.CanonicalHeaderKey(name)] = vs
		}
	}
	return t
}

// finish completes the response after the handler returned: headers
// (with a Content-Length if the whole body was buffered), body,
// trailers, FIN.
func (w *responseWriter) finish() error {
	if !w.wroteHead {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return w.err
	}
	if w.declaredCL >= 0 && w.written < w.declaredCL && w.req.Method != http.MethodHead {
		return http.ErrContentLength
	}
	if !w.sentHead && w.header.Get("Content-Length") == "" &&
		bodyAllowed(w.status) && len(w.header.Values("Trailer")) == 0 {
		w.header.Set("Content-Length", strconv.FormatInt(w.written, 10))
	}
	if err := w.flushBuf(); err != nil {
		return err
	}
	if t := w.trailers(); len(t) > 0 {
		p := encodeFields(nil, appendHeaderFields(nil, t))
		if _, err := w.st.Write(appendFrame(nil, frameHeaders, p)); err != nil {
			return err
		}
	}
	return w.st.CloseWrite()
}
