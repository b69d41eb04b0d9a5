package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Adapt runs a net/http Handler on this server: each request is turned
// into an *http.Request and the handler writes through an
// http.ResponseWriter that also implements http.Flusher and http.Hijacker,
// so http.ResponseController works and a WebSocket library can take the
// connection over. The conversion allocates what net/http would; Handler
// is the fast path. Trailers are not carried in either direction.
func Adapt(h http.Handler) Handler {
	return func(w *ResponseWriter, r *Request) {
		u, err := url.ParseRequestURI(r.Target)
		if r.Target == "*" {
			u, err = &url.URL{Path: "*"}, nil
		} else if r.Method == "CONNECT" {
			u, err = &url.URL{Host: r.Target}, nil
		}
		if err != nil {
			w.WriteHeader(400)
			io.WriteString(w, "malformed request-target\n")
			return
		}
		hdr := make(http.Header, len(r.Header))
		for _, f := range r.Header {
			k := http.CanonicalHeaderKey(f.Name)
			hdr[k] = append(hdr[k], f.Value)
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		hr := (&http.Request{
			Method: r.Method, URL: u, Header: hdr, Host: r.Host,
			Proto:      "HTTP/1." + strconv.Itoa(r.Minor),
			ProtoMajor: 1, ProtoMinor: r.Minor,
			Body:          io.NopCloser(r.Body),
			ContentLength: r.ContentLength,
			Close:         r.Close,
			RemoteAddr:    r.RemoteAddr,
			RequestURI:    r.Target,
		}).WithContext(ctx)
		if r.Chunked {
			hr.TransferEncoding = []string{"chunked"}
		}
		if r.ContentLength == 0 {
			hr.Body = http.NoBody
		}
		aw := &adapter{w: w, hdr: http.Header{}}
		h.ServeHTTP(aw, hr)
		if !w.hijacked {
			aw.WriteHeader(200)
		}
	}
}

// adapter is the http.ResponseWriter a net/http handler sees.
type adapter struct {
	w   *ResponseWriter
	hdr http.Header
}

func (a *adapter) Header() http.Header { return a.hdr }

func (a *adapter) WriteHeader(code int) {
	if a.w.wroteHeader {
		return
	}
	for k, vs := range a.hdr {
		for _, v := range vs {
			a.w.Header.Add(k, v)
		}
	}
	a.w.WriteHeader(code)
}

func (a *adapter) Write(p []byte) (int, error) {
	a.WriteHeader(200)
	return a.w.Write(p)
}

func (a *adapter) Flush() {
	a.WriteHeader(200)
	a.w.Flush()
}

func (a *adapter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return a.w.Hijack()
}

// SetReadDeadline and SetWriteDeadline let http.ResponseController set
// per-request deadlines.
func (a *adapter) SetReadDeadline(t time.Time) error {
	return a.w.c.nc.SetReadDeadline(t)
}

func (a *adapter) SetWriteDeadline(t time.Time) error {
	return a.w.c.nc.SetWriteDeadline(t)
}
