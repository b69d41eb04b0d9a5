package h3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"backend-protocols/02-protocols/http3/quic"
)

// Transport is an http.RoundTripper speaking HTTP/3, so that net/http
// code runs over QUIC unchanged:
//
//	client := &http.Client{Transport: &h3.Transport{TLSClientConfig: tc}}
//	resp, err := client.Get("https://localhost:4433/")
//
// It keeps one QUIC connection per host:port and sends each request on
// its own stream.
type Transport struct {
	// TLSClientConfig configures TLS; NextProtos is set to h3 and
	// ServerName to the request's host unless given.
	TLSClientConfig *tls.Config
	// QUICConfig sets transport options; its TLSConfig is ignored.
	QUICConfig *quic.Config
	// MaxResponseHeaderBytes is the SETTINGS_MAX_FIELD_SECTION_SIZE
	// declared to servers (default 64 KiB).
	MaxResponseHeaderBytes int
	// Dial, if set, opens connections instead of quic.Dial; the 0-RTT
	// demos use it to dial with quic.DialEarly.
	Dial func(ctx context.Context, addr string, cfg *quic.Config) (*quic.Conn, error)

	mu    sync.Mutex
	conns map[string]*clientConn
}

// clientConn is one connection to a server, shared by requests.
type clientConn struct {
	*conn
	ready chan struct{} // closed when the dial finished
	err   error
}

// RoundTrip sends one request and returns its response (the body streams
// as it arrives).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || req.URL.Scheme != "https" {
		return nil, errors.New("h3: only https URLs are supported")
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "443")
	}
	for attempt := 0; ; attempt++ {
		cc, err := t.connFor(req.Context(), addr)
		if err != nil {
			return nil, err
		}
		resp, err := cc.roundTrip(req)
		var retry *retryable
		if errors.As(err, &retry) && attempt < 2 && rewindable(req) {
			// The server refused the request before processing it
			// (GOAWAY, H3_REQUEST_REJECTED): a new connection may take it.
			t.forget(addr, cc)
			continue
		}
		return resp, err
	}
}

// retryable marks a request the server did not process.
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

func rewindable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// connFor returns the connection to addr, dialing it if needed.
func (t *Transport) connFor(ctx context.Context, addr string) (*clientConn, error) {
	t.mu.Lock()
	if t.conns == nil {
		t.conns = map[string]*clientConn{}
	}
	cc := t.conns[addr]
	if cc != nil {
		select {
		case <-cc.ready:
			if cc.err != nil || cc.qc.Err() != nil || cc.goingAway() {
				delete(t.conns, addr)
				cc = nil
			}
		default:
		}
	}
	if cc == nil {
		cc = &clientConn{ready: make(chan struct{})}
		t.conns[addr] = cc
		t.mu.Unlock()
		cc.err = t.dial(ctx, addr, cc)
		close(cc.ready)
		if cc.err != nil {
			t.forget(addr, cc)
			return nil, cc.err
		}
		return cc, nil
	}
	t.mu.Unlock()
	select {
	case <-cc.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if cc.err != nil {
		return nil, cc.err
	}
	return cc, nil
}

func (t *Transport) forget(addr string, cc *clientConn) {
	t.mu.Lock()
	if t.conns[addr] == cc {
		delete(t.conns, addr)
	}
	t.mu.Unlock()
}

func (t *Transport) dial(ctx context.Context, addr string, cc *clientConn) error {
	var qc quic.Config
	if t.QUICConfig != nil {
		qc = *t.QUICConfig
	}
	if t.TLSClientConfig != nil {
		qc.TLSConfig = t.TLSClientConfig.Clone()
	} else {
		qc.TLSConfig = &tls.Config{}
	}
	qc.TLSConfig.NextProtos = []string{NextProto}
	if qc.TLSConfig.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		qc.TLSConfig.ServerName = host
	}
	dial := t.Dial
	if dial == nil {
		dial = func(ctx context.Context, addr string, cfg *quic.Config) (*quic.Conn, error) {
			return quic.Dial(ctx, "udp", addr, cfg)
		}
	}
	c, err := dial(ctx, addr, &qc)
	if err != nil {
		return err
	}
	cc.conn = newConn(c, false, uint64(t.MaxResponseHeaderBytes))
	if err := cc.start(ctx); err != nil {
		c.CloseWithError(uint64(ErrCodeInternalError), err.Error())
		return err
	}
	return nil
}

// Conn returns the QUIC connection the transport holds to addr
// (host:port), if any, for statistics.
func (t *Transport) Conn(addr string) *quic.Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cc := t.conns[addr]; cc != nil && cc.conn != nil {
		return cc.qc
	}
	return nil
}

// CloseIdleConnections closes every connection, like http.Transport's
// method of the same name (http.Client calls it).
func (t *Transport) CloseIdleConnections() { t.Close() }

// Close closes every connection with H3_NO_ERROR.
func (t *Transport) Close() error {
	t.mu.Lock()
	conns := t.conns
	t.conns = nil
	t.mu.Unlock()
	for _, cc := range conns {
		<-cc.ready
		if cc.err == nil {
			cc.qc.CloseWithError(uint64(ErrCodeNoError), "")
		}
	}
	return nil
}

func (cc *clientConn) goingAway() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.gotGoaway
}

// roundTrip runs one request on a new stream.
func (cc *clientConn) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	st, err := cc.qc.OpenStream(ctx)
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	past := cc.gotGoaway && st.ID() >= cc.goawayID
	cc.mu.Unlock()
	if past {
		st.Reset(uint64(ErrCodeRequestCancelled))
		return nil, &retryable{errors.New("h3: connection is going away")}
	}
	fields, err := requestFields(req)
	if err != nil {
		st.Reset(uint64(ErrCodeRequestCancelled))
		return nil, err
	}
	if max := cc.peerMaxFieldSection(); max > 0 && fieldsSize(fields) > max {
		st.Reset(uint64(ErrCodeRequestCancelled))
		return nil, fmt.Errorf("h3: request header of %d bytes above the "+
			"server's limit of %d", fieldsSize(fields), max)
	}
	if _, err := st.Write(appendFrame(nil, frameHeaders,
		encodeFields(nil, fields))); err != nil {
		return nil, err
	}
	// The body goes out while the response comes in: full duplex.
	bodyErr := make(chan error, 1)
	go func() { bodyErr <- writeRequestBody(st, req) }()

	stop := context.AfterFunc(ctx, func() {
		st.Reset(uint64(ErrCodeRequestCancelled))
		st.CloseRead(uint64(ErrCodeRequestCancelled))
	})
	fr := newFrameReader(st)
	var code int
	var h http.Header
	for {
		fs, err := readHeaders(fr, cc.maxFieldSection, false)
		if err != nil {
			stop()
			return nil, cc.responseError(st, err, ctx)
		}
		code, h, err = responseFromFields(fs)
		if err != nil {
			stop()
			return nil, cc.responseError(st, err, ctx)
		}
		if code >= 200 || code == http.StatusSwitchingProtocols {
			break
		}
		// Skip interim responses (1xx), as net/http does by default.
	}
	cl, err := contentLength(h)
	if err != nil {
		stop()
		return nil, cc.responseError(st, err, ctx)
	}
	if req.Method == http.MethodHead || !bodyAllowed(code) {
		cl = 0
	}
	resp := &http.Response{
		Status:     fmt.Sprintf("%d %s", code, http.StatusText(code)),
		StatusCode: code, Proto: "HTTP/3.0", ProtoMajor: 3,
		Header: h, ContentLength: cl, Request: req, TLS: tlsState(cc.qc),
		Trailer: http.Header{},
	}
	for _, k := range h.Values("Trailer") {
		for _, name := range strings.Split(k, ",") {
			if name = strings.TrimSpace(name); name != "" {
				resp.Trailer[http.CanonicalHeaderKey(name)] = nil
			}
		}
	}
	b := &body{fr: fr, max: cc.maxFieldSection, remain: cl,
		onErr: func(err error) {
			var e *Error
			if errors.As(err, &e) && isConnError(e.Code) {
				cc.fail(e)
			} else {
				st.CloseRead(uint64(ErrCodeMessageError))
			}
		},
		close: func() {
			stop()
			st.CloseRead(uint64(ErrCodeRequestCancelled))
			st.Reset(uint64(ErrCodeRequestCancelled))
		}}
	resp.Body = &responseBody{body: b, resp: resp, stop: stop}
	return resp, nil
}

func tlsState(qc *quic.Conn) *tls.ConnectionState {
	cs := qc.ConnectionState()
	return &cs
}

// responseError maps a failure while reading the response head.
func (cc *clientConn) responseError(st *quic.Stream, err error, ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var e *Error
	if errors.As(err, &e) && isConnError(e.Code) {
		cc.fail(e)
		return err
	}
	var se *quic.StreamError
	if errors.As(err, &se) && se.Remote && ErrCode(se.Code) == ErrCodeRequestRejected {
		return &retryable{err}
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("h3: stream ended before the response")
	}
	st.CloseRead(uint64(ErrCodeMessageError))
	return err
}

// responseBody fills resp.Trailer when the body reaches its end.
type responseBody struct {
	*body
	resp *http.Response
	stop func() bool
}

func (r *responseBody) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if errors.Is(err, io.EOF) {
		r.stop()
		for k, v := range r.body.trailers() {
			r.resp.Trailer[k] = v
		}
	}
	return n, err
}

// requestFields builds the field section of a request (RFC 9114,
// Section 4.3.1): the pseudo-headers first, then the header fields.
func requestFields(req *http.Request) ([]headerField, error) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	fields := []headerField{{":method", method}}
	if method != http.MethodConnect {
		path := req.URL.RequestURI()
		fields = append(fields, headerField{":scheme", "https"},
			headerField{":authority", host}, headerField{":path", path})
	} else {
		fields = append(fields, headerField{":authority", host})
	}
	h := req.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if req.ContentLength > 0 {
		h.Set("Content-Length", fmt.Sprint(req.ContentLength))
	} else if req.ContentLength == 0 && req.Body == nil &&
		(method == http.MethodPost || method == http.MethodPut) {
		h.Set("Content-Length", "0")
	}
	if len(req.Trailer) > 0 {
		var names []string
		for k := range req.Trailer {
			names = append(names, k)
		}
		h.Set("Trailer", strings.Join(names, ", "))
	}
	return appendHeaderFields(fields, h), nil
}

func fieldsSize(fields []headerField) uint64 {
	var n uint64
	for _, f := range fields {
		n += f.size()
	}
	return n
}

// writeRequestBody sends the body in DATA frames, then the trailers,
// then FIN.
func writeRequestBody(st *quic.Stream, req *http.Request) error {
	if req.Body != nil && req.Body != http.NoBody {
		defer req.Body.Close()
		buf := make([]byte, 32<<10)
		var hdr [16]byte
		for {
			n, err := req.Body.Read(buf)
			if n > 0 {
				h := quic.AppendVarint(hdr[:0], frameData)
				h = quic.AppendVarint(h, uint64(n))
				if _, werr := st.Write(h); werr != nil {
					return werr
				}
				if _, werr := st.Write(buf[:n]); werr != nil {
					return werr
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				st.Reset(uint64(ErrCodeRequestCancelled))
				return err
			}
		}
	}
	if len(req.Trailer) > 0 {
		p := encodeFields(nil, appendHeaderFields(nil, req.Trailer))
		if _, err := st.Write(appendFrame(nil, frameHeaders, p)); err != nil {
			return err
		}
	}
	return st.CloseWrite()
}
