package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"path"
	"strings"
	"sync"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/timeline"
)

// route is one rule of the balancer, matched in order: by host (if set)
// and path prefix, like nginx's server_name and location blocks.
type route struct {
	name   string
	host   string   // "" matches any Host
	prefix string   // path prefix; "/" matches every path
	pool   *lb.Pool // where matching requests go; nil with deny
	deny   bool     // answer 403 without asking any backend
}

func (rt *route) matches(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	return (rt.host == "" || strings.EqualFold(rt.host, host)) &&
		strings.HasPrefix(r.URL.Path, rt.prefix)
}

// balancer is a layer-7 load balancer: it reads every request, picks a
// route by host and path, then a backend per request from that route's
// pool, and forwards over keep-alive connections it keeps to each backend.
// httputil.ReverseProxy does the forwarding (hop-by-hop headers, trailers,
// flushing, upgrades); the balancer is the Rewrite, the RoundTripper that
// picks and retries, and the response and error hooks.
type balancer struct {
	name   string
	routes []route
	// tries bounds the backends a request may be sent to; a request is
	// sent again only if that is safe (see retryable).
	tries int
	// sticky pins a client to the backend that first answered it, with a
	// cookie.
	sticky  bool
	tl      *timeline.Timeline
	verbose bool

	tr    *http.Transport
	proxy *httputil.ReverseProxy

	mu         sync.Mutex
	retried    map[string]int // by method: requests sent again elsewhere
	notRetried map[string]int // by method: failures not safe to send again
}

// stickyCookie names the cookie that pins a client to a backend.
const stickyCookie = "lb-backend"

func newBalancer(name string, routes []route, tl *timeline.Timeline) *balancer {
	b := &balancer{name: name, routes: routes, tries: 3, tl: tl,
		retried: map[string]int{}, notRetried: map[string]int{}}
	// One pool of idle keep-alive connections per backend address.
	b.tr = &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	b.proxy = &httputil.ReverseProxy{
		Rewrite:        b.rewrite,
		Transport:      b,
		ModifyResponse: b.modifyResponse,
		ErrorHandler:   b.errorHandler,
		ErrorLog:       log.New(io.Discard, "", 0),
		BufferPool:     &lb.BufferPool{},
	}
	return b
}

// close drops the idle backend connections.
func (b *balancer) close() { b.tr.CloseIdleConnections() }

// state travels with one request through the proxy's hooks.
type state struct {
	route  *route
	want   *lb.Target // from the sticky cookie
	served *lb.Target
	tried  []string
}

type stateKey struct{}

func stateOf(r *http.Request) *state { return r.Context().Value(stateKey{}).(*state) }

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Route on the path the backend will act on: /nope/../admin and
	// //admin are /admin, and must not slip past the /admin rule. The
	// cleaned path is also what goes to the backend.
	if p := cleanPath(r.URL.Path); p != r.URL.Path {
		r.URL.Path, r.URL.RawPath = p, ""
	}
	var rt *route
	for i := range b.routes {
		if b.routes[i].matches(r) {
			rt = &b.routes[i]
			break
		}
	}
	switch {
	case rt == nil:
		http.Error(w, "no route", http.StatusNotFound)
		return
	case rt.deny:
		if b.verbose {
			b.tl.Note(b.name, "%s %s%s: route %s: 403, no backend asked", r.Method, r.Host,
				r.URL.Path, rt.name)
		}
		http.Error(w, "forbidden by "+b.name, http.StatusForbidden)
		return
	}
	st := &state{route: rt}
	if b.sticky {
		if c, err := r.Cookie(stickyCookie); err == nil {
			st.want = rt.pool.Get(c.Value)
		}
	}
	b.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
}

// cleanPath resolves "." and ".." and repeated slashes, keeping a
// trailing slash, as nginx does before it matches a location.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// rewrite builds the request to the backend. ReverseProxy has already
// removed hop-by-hop headers and any X-Forwarded-* or Forwarded the
// client sent (a client must not choose what the backend believes about
// it); the balancer adds its own, keeps the client's Host, and leaves the
// backend address to RoundTrip, which picks it.
func (b *balancer) rewrite(pr *httputil.ProxyRequest) {
	pr.SetXForwarded()
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = "backend.invalid" // replaced by RoundTrip
	pr.Out.Host = pr.In.Host
}

// RoundTrip picks a backend for the request and sends it there, over the
// transport's keep-alive pool for that backend. When the backend fails
// before answering, it tries another one, but only when that is safe.
func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateOf(req)
	pool := st.route.pool
	var tried []*lb.Target
	for {
		var (
			t       *lb.Target
			release func()
			err     error
		)
		if st.want != nil && st.want.Up() && len(tried) == 0 {
			t, release = st.want, func() {}
		} else if t, release, err = pool.Pick(tried...); err != nil {
			if len(tried) > 0 {
				err = fmt.Errorf("%w (tried %s)", err, strings.Join(st.tried, ", "))
			}
			return nil, err
		}
		out := req.Clone(req.Context())
		out.URL.Host = t.Addr
		if req.Body != nil {
			// The transport closes a request's body when the attempt
			// fails; keep it open for the next one. A body is only ever
			// sent again after a refused connection, which read none.
			out.Body = keepOpen{req.Body}
		}
		resp, err := b.tr.RoundTrip(out)
		if err == nil {
			st.served = t
			if resp.StatusCode == http.StatusSwitchingProtocols {
				release() // the body is the upgraded connection: leave it be
			} else {
				resp.Body = &releasing{ReadCloser: resp.Body, release: release}
			}
			return resp, nil
		}
		release()
		tried = append(tried, t)
		st.tried = append(st.tried, t.Name)
		if req.Context().Err() != nil || len(tried) >= b.tries || !retryable(req, err) {
			if req.Context().Err() == nil {
				b.count(b.notRetried, req.Method)
				b.tl.Note(b.name, "%s %s to %s failed (%v): not safe to send again: 502",
					req.Method, req.URL.Path, t, short(err))
			}
			return nil, err
		}
		b.count(b.retried, req.Method)
		b.tl.Note(b.name, "%s %s to %s failed (%v): trying another backend",
			req.Method, req.URL.Path, t, short(err))
	}
}

// retryable reports whether a request that failed with err may be sent to
// another backend. A request is safe to repeat when its method is
// idempotent (RFC 9110 section 9.2.2) and it has no body to replay, or
// when it never reached the backend at all: a refused connection. A POST
// that reached a backend which then died may have taken effect there;
// sending it again could charge a card twice, so the client gets 502.
func retryable(req *http.Request, err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return req.Body == nil || req.Body == http.NoBody
	}
	return false
}

func (b *balancer) count(m map[string]int, method string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m[method]++
}

// counts returns the retry counters.
func (b *balancer) counts() (retried, notRetried map[string]int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, n := map[string]int{}, map[string]int{}
	for k, v := range b.retried {
		r[k] = v
	}
	for k, v := range b.notRetried {
		n[k] = v
	}
	return r, n
}

type keepOpen struct{ io.Reader }

func (keepOpen) Close() error { return nil }

// releasing ends a backend's active count when the response body is done.
type releasing struct {
	io.ReadCloser
	release func()
}

func (r *releasing) Close() error {
	err := r.ReadCloser.Close()
	r.release()
	return err
}

// modifyResponse tells the client what the balancer decided, and pins a
// sticky client to the backend that answered.
func (b *balancer) modifyResponse(resp *http.Response) error {
	st := stateOf(resp.Request)
	tries := len(st.tried) + 1
	resp.Header.Set("X-LB", fmt.Sprintf("route=%s backend=%s tries=%d",
		st.route.name, st.served, tries))
	if b.sticky && st.want != st.served {
		c := &http.Cookie{Name: stickyCookie, Value: st.served.Name, Path: "/",
			HttpOnly: true, SameSite: http.SameSiteLaxMode}
		resp.Header.Add("Set-Cookie", c.String())
	}
	if b.verbose {
		in := resp.Request
		b.tl.Note(b.name, "%s %s%s: route %s -> %s (%s): %d", in.Method, in.Host,
			in.URL.Path, st.route.name, st.served, b.how(st), resp.StatusCode)
	}
	return nil
}

func (b *balancer) how(st *state) string {
	if st.want != nil && st.want == st.served {
		return "sticky cookie"
	}
	return st.route.pool.Policy.String()
}

// errorHandler answers for a backend that could not: 503 when no backend
// is up, 504 when one was too slow, 502 for the rest.
func (b *balancer) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client left; nobody to answer
	}
	code := http.StatusBadGateway
	var ne net.Error
	switch {
	case errors.Is(err, lb.ErrNoBackend):
		code = http.StatusServiceUnavailable
	case errors.As(err, &ne) && ne.Timeout():
		code = http.StatusGatewayTimeout
	}
	http.Error(w, fmt.Sprintf("%s: %v", b.name, short(err)), code)
}

// short drops an error's "Get http://...:" and "dial tcp ...:" prefixes.
func short(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
