package h1

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
)

// holdBack is how much body a response buffers before it must choose a
// framing: a handler that writes less and returns gets a Content-Length.
const holdBack = 4096

// ErrContentLength is returned by Write past the Content-Length the
// handler declared.
var ErrContentLength = errors.New("h1: write beyond the declared Content-Length")

// ResponseWriter builds the response to one request. A handler sets
// Header (and Trailer for a chunked body), calls WriteHeader, then Write.
// The server picks the framing: Content-Length when the whole body fits
// in a small buffer or the handler declared one, chunked when it streams
// (Flush, or a longer body) to an HTTP/1.1 client, and close-delimited for
// HTTP/1.0. A ResponseWriter is valid only until the handler returns.
type ResponseWriter struct {
	// Header holds the fields to send; change it before the first Write.
	// Content-Length, if set, is the body length the handler promises;
	// Transfer-Encoding and Connection are the server's to decide.
	Header Header
	// Trailer holds fields sent after a chunked body, if it is chunked.
	Trailer Header

	c   *conn
	req *Request

	status      int
	wroteHeader bool
	headSent    bool
	chunked     bool
	noBody      bool  // HEAD, 204, 304: no body bytes on the wire
	declared    int64 // Content-Length from Header, or -1
	written     int64
	buf         []byte
	closeAfter  bool
	hijacked    bool
	err         error
}

// reset prepares w for req, keeping its buffers.
func (w *ResponseWriter) reset(c *conn, req *Request) {
	*w = ResponseWriter{c: c, req: req, declared: -1,
		Header: w.Header[:0], buf: w.buf[:0]}
	clear(w.Header[:cap(w.Header)])
}

// WriteHeader fixes the status code (200 to 599); a later call does
// nothing. Write calls it with 200 if the handler did not.
func (w *ResponseWriter) WriteHeader(status int) {
	if w.wroteHeader || w.hijacked {
		return
	}
	if status < 200 || status > 599 {
		status = 500
	}
	w.wroteHeader, w.status = true, status
	w.noBody = w.req.Method == "HEAD" || status == 204 || status == 304
	if v := w.Header.Get("Content-Length"); v != "" && !w.noBody {
		n, err := parseLength(v, 1<<62)
		if err != nil {
			w.fail(&Error{500, "handler set a malformed Content-Length"})
			return
		}
		w.declared = n
	}
	if w.Header.HasToken("Connection", "close") {
		w.closeAfter = true
	}
}

// fail replaces a response that cannot be sent as the handler built it
// with a 500, and closes the connection after it.
func (w *ResponseWriter) fail(err error) {
	w.status, w.declared, w.noBody = 500, -1, w.req.Method == "HEAD"
	w.Header = append(w.Header[:0], Field{"Content-Type", "text/plain"})
	w.buf = append(w.buf[:0], err.Error()...)
	w.closeAfter = true
}

// Write sends body bytes, holding back the first few kilobytes so a short
// body goes out with a Content-Length in one piece.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(200)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, ErrContentLength
	}
	w.written += int64(len(p))
	if !w.headSent {
		if len(w.buf)+len(p) <= holdBack {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		if err := w.sendHead(false); err != nil {
			return 0, err
		}
		if w.err != nil {
			return 0, w.err
		}
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteString is Write for a string, without copying it to a []byte
// first while the body is held back.
func (w *ResponseWriter) WriteString(s string) (int, error) {
	if w.headSent || w.hijacked || w.err != nil || len(w.buf)+len(s) > holdBack ||
		w.declared >= 0 {
		return w.Write([]byte(s))
	}
	if !w.wroteHeader {
		w.WriteHeader(200)
	}
	w.written += int64(len(s))
	w.buf = append(w.buf, s...)
	return len(s), nil
}

// Flush sends the head and everything written so far; with chunked
// framing each Flush puts a chunk on the wire at once.
func (w *ResponseWriter) Flush() error {
	if w.hijacked {
		return ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(200)
	}
	if w.err == nil && !w.headSent {
		if err := w.sendHead(false); err != nil {
			w.err = err
		}
	}
	if w.err == nil {
		w.err = w.c.bw.Flush()
	}
	return w.err
}

// Hijack hands the connection to the caller, with a reader holding any
// bytes already received and a writer onto the connection: the way a
// WebSocket takes over after "101 Switching Protocols". The server then
// forgets the connection; the caller must close it. Deadlines are cleared.
func (w *ResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, ErrHijacked
	}
	if w.headSent {
		return nil, nil, errors.New("h1: hijack after the response began")
	}
	w.hijacked = true
	// From here the connection, and the goroutine running this handler,
	// are the caller's: Shutdown neither waits for nor closes them.
	w.c.srv.setState(w.c, StateHijacked)
	w.c.srv.wg.Done()
	nc := w.c.nc
	nc.SetDeadline(time.Time{})
	return nc, bufio.NewReadWriter(w.c.r.br, w.c.bw), nil
}

// sendContinue answers "Expect: 100-continue" on the body's first read.
func (w *ResponseWriter) sendContinue() error {
	if w.headSent || w.hijacked {
		return nil
	}
	w.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	return w.c.bw.Flush()
}

// sendHead writes the status line and fields. final says the handler has
// returned, so everything held back is the whole body.
func (w *ResponseWriter) sendHead(final bool) error {
	bad := checkFields(w.Header)
	if bad == nil {
		bad = checkFields(w.Trailer)
	}
	if bad != nil {
		// Later writes fail; the client gets a 500 instead.
		w.fail(bad)
		final, w.err = true, bad
	}
	w.headSent = true
	req, bw := w.req, w.c.bw
	length := int64(-1)
	switch {
	case w.status == 204 || w.status == 304:
	case w.declared >= 0:
		length = w.declared
	case final:
		length = int64(len(w.buf))
	case req.Method == "HEAD":
	case req.Minor == 1:
		w.chunked = true
	default:
		w.closeAfter = true // HTTP/1.0: the body ends when we close
	}
	if req.body.cont != nil && req.body.kind != bodyNone {
		// Answered without asking for the body: the client may send it
		// or not, so nothing after it on the connection can be framed.
		w.closeAfter = true
	}
	if w.c.srv.shuttingDown() {
		w.closeAfter = true
	}
	bw.WriteString("HTTP/1.1 ")
	writeDecimal(bw, int64(w.status))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(w.status))
	bw.WriteString("\r\n")
	if !w.Header.Has("Date") {
		bw.WriteString("Date: ")
		bw.WriteString(w.c.srv.date.get())
		bw.WriteString("\r\n")
	}
	for _, f := range w.Header {
		switch len(f.Name) {
		case 10, 14, 17:
			if equalFoldAny(f.Name, "Connection", "Content-Length",
				"Transfer-Encoding") {
				continue
			}
		}
		bw.WriteString(f.Name)
		bw.WriteString(": ")
		bw.WriteString(f.Value)
		bw.WriteString("\r\n")
	}
	if length >= 0 {
		bw.WriteString("Content-Length: ")
		writeDecimal(bw, length)
		bw.WriteString("\r\n")
	}
	if w.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	switch {
	case w.closeAfter || req.Close:
		w.closeAfter = true
		bw.WriteString("Connection: close\r\n")
	case req.Minor == 0:
		bw.WriteString("Connection: keep-alive\r\n")
	}
	_, err := bw.WriteString("\r\n")
	if err != nil {
		return err
	}
	held := w.buf
	w.buf = w.buf[:0]
	return w.writeBody(held)
}

// writeBody puts body bytes on the wire in the chosen framing.
func (w *ResponseWriter) writeBody(p []byte) error {
	if w.noBody || len(p) == 0 {
		return nil
	}
	if w.chunked {
		return writeChunk(w.c.bw, p)
	}
	_, err := w.c.bw.Write(p)
	return err
}

// finish completes the response after the handler returned.
func (w *ResponseWriter) finish() error {
	if w.hijacked {
		return nil
	}
	if !w.wroteHeader {
		w.WriteHeader(200)
	}
	if !w.headSent {
		if err := w.sendHead(true); err != nil {
			return err
		}
	}
	if w.chunked {
		if err := writeLastChunk(w.c.bw, w.Trailer); err != nil {
			return err
		}
	}
	if w.declared >= 0 && w.written < w.declared && !w.noBody {
		// The body is shorter than promised: only closing the
		// connection tells the client the response is incomplete.
		w.closeAfter = true
	}
	return w.c.bw.Flush()
}

func equalFoldAny(s string, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(s, n) {
			return true
		}
	}
	return false
}
