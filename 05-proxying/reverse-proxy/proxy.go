package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/timeline"
)

// newProxy returns a reverse proxy in front of pool, built the way a Go
// backend engineer would build one: httputil.ReverseProxy forwards
// (removing hop-by-hop headers, copying trailers, flushing event streams
// at once, passing 101 upgrades through), http.Transport keeps a pool of
// keep-alive HTTP/1.1 connections per backend, and this function supplies
// what the library leaves to its user: which backend, which headers, how
// long to wait, and what status to give when the backend fails.
func newProxy(pool *lb.Pool, timeout time.Duration, tl *timeline.Timeline) (*httputil.ReverseProxy, *http.Transport) {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout, // slower than this: 504
	}
	rp := &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			t, release, err := pool.Pick()
			if err != nil {
				// No backend: an address that fails at once, for a 502.
				pr.SetURL(&url.URL{Scheme: "http", Host: "127.0.0.1:0"})
				return
			}
			release() // round-robin needs no count of requests in flight
			pr.SetURL(&url.URL{Scheme: "http", Host: t.Addr})
			// SetURL set Host to the backend's address. Keep the name the
			// client used instead: the backend builds its links,
			// redirects and cookies for that name, not for 127.0.0.1.
			pr.Out.Host = pr.In.Host
			// ReverseProxy removed any X-Forwarded-* and Forwarded the
			// client sent; these are the proxy's own.
			pr.SetXForwarded()
			pr.Out.Header.Set("Forwarded", forwarded(pr.In))
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client left
			}
			code := http.StatusBadGateway
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				code = http.StatusGatewayTimeout
			}
			tl.Note("proxy", "%s %s: %v: %d", r.Method, r.URL.Path, shortErr(err), code)
			http.Error(w, http.StatusText(code), code)
		},
		ErrorLog:   log.New(io.Discard, "", 0),
		BufferPool: &lb.BufferPool{},
	}
	return rp, tr
}

// forwarded builds the standard Forwarded header (RFC 7239 section 4)
// from the client's request: who asked, for which host, over which
// protocol. Values that are not tokens (an IPv6 address, a host with a
// port) are quoted, as section 6 requires.
func forwarded(r *http.Request) string {
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("for=%s;host=%s;proto=%s", quote(host), quote(r.Host), proto)
}

// quote returns v as a token if it is one, else as a quoted-string.
func quote(v string) string {
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
		}
	}
	return v
}

// shortErr drops an error's "dial tcp ...:" style prefixes.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
