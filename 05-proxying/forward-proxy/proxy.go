package main

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/timeline"
)

// proxy is an HTTP forward proxy: clients configured to use it send
// absolute-form requests (GET http://host/path) that it forwards, and
// CONNECT host:port requests that it turns into byte tunnels, for HTTPS.
// It is not an open proxy: it reaches only loopback addresses on the
// ports it was given, and may demand Basic credentials.
type proxy struct {
	name  string
	ports map[int]bool // destination ports allowed
	// user and pass, if user is set, are the Basic credentials required in
	// Proxy-Authorization.
	user, pass string
	tl         *timeline.Timeline
	verbose    bool

	tr      *http.Transport // to origin servers; never itself via a proxy
	tunnels lb.Conns        // hijacked connections: Shutdown cannot see them
}

var dialer = net.Dialer{Timeout: 2 * time.Second}

func newProxy(name string, ports []int, tl *timeline.Timeline) *proxy {
	p := &proxy{name: name, ports: map[int]bool{}, tl: tl}
	for _, port := range ports {
		p.ports[port] = true
	}
	p.tr = &http.Transport{
		Proxy: nil,
		// Check again where the connection really goes: the address is
		// resolved once, checked, and that address is dialled.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dst, err := p.destination(ctx, addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, dst)
		},
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
	}
	return p
}

// close ends every tunnel and drops idle origin connections.
func (p *proxy) close() {
	p.tunnels.CloseAll()
	p.tr.CloseIdleConnections()
}

// errRefused marks destinations the proxy will not reach.
var errRefused = errors.New("destination not allowed")

// destination checks host:port against the policy and returns the
// address to dial: a loopback IP (a name is resolved here, and every
// address it resolves to must be loopback) and an allowed port.
func (p *proxy) destination(ctx context.Context, hostport string) (string, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", fmt.Errorf("bad destination %q: %w", hostport, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || !p.ports[port] {
		return "", fmt.Errorf("%w: port %s", errRefused, portStr)
	}
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupIPAddr(rctx, host)
		if err != nil {
			return "", fmt.Errorf("%w: %s does not resolve", errRefused, host)
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return "", fmt.Errorf("%w: %s is not loopback", errRefused, ip)
		}
	}
	return net.JoinHostPort(ips[0].String(), portStr), nil
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		// RFC 9110 section 11.7.1: 407 names the scheme to use.
		w.Header().Set("Proxy-Authenticate", `Basic realm="`+p.name+`"`)
		p.refuse(w, r, http.StatusProxyAuthRequired, "no valid Proxy-Authorization")
		return
	}
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if !r.URL.IsAbs() || r.URL.Scheme != "http" {
		p.refuse(w, r, http.StatusBadRequest,
			"a forward proxy takes absolute-form http:// requests and CONNECT")
		return
	}
	p.forward(w, r)
}

func (p *proxy) refuse(w http.ResponseWriter, r *http.Request, code int, why string) {
	p.tl.Note(p.name, "%s %s: %d %s", r.Method, r.RequestURI, code, why)
	http.Error(w, why, code)
}

// authorized checks Proxy-Authorization: Basic base64(user:pass) (RFC 7617)
// when credentials are required.
func (p *proxy) authorized(r *http.Request) bool {
	if p.user == "" {
		return true
	}
	scheme, cred, ok := strings.Cut(r.Header.Get("Proxy-Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return false
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	return subtle.ConstantTimeCompare([]byte(user), []byte(p.user))&
		subtle.ConstantTimeCompare([]byte(pass), []byte(p.pass)) == 1
}

// hopByHop are the header fields that describe one connection, not the
// message (RFC 9110 section 7.6.1), plus the proxy's own credentials and
// the old Proxy-Connection some clients still send.
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive",
	"Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade"}

// removeHopByHop deletes hop-by-hop fields, and every field the Connection
// header names, and returns the names it removed.
func removeHopByHop(h http.Header) []string {
	var gone []string
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" && h.Get(name) != "" {
				gone = append(gone, http.CanonicalHeaderKey(name))
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		if _, ok := h[name]; ok {
			gone = append(gone, name)
			h.Del(name)
		}
	}
	return gone
}

func via(r *http.Request, name string) string {
	return fmt.Sprintf("%d.%d %s", r.ProtoMajor, r.ProtoMinor, name)
}

// forward sends an absolute-form request on to its origin and copies the
// answer back. The proxy reads everything: method, full URL, headers and
// body.
func (p *proxy) forward(w http.ResponseWriter, r *http.Request) {
	host := r.URL.Host
	if r.URL.Port() == "" {
		host = net.JoinHostPort(r.URL.Hostname(), "80")
	}
	if _, err := p.destination(r.Context(), host); err != nil {
		p.refuse(w, r, http.StatusForbidden, err.Error())
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = "" // a client request must not have one
	if r.ContentLength == 0 {
		out.Body = nil
	}
	gone := removeHopByHop(out.Header)
	out.Header.Add("Via", via(r, p.name))
	if p.verbose {
		p.tl.Send("client", p.name, "%s %s", r.Method, r.URL)
		for _, k := range slices.Sorted(maps.Keys(r.Header)) {
			p.tl.Note(p.name, "  reads %s: %s", k, strings.Join(r.Header[k], ", "))
		}
		if len(gone) > 0 {
			p.tl.Note(p.name, "  removes hop-by-hop %s; adds Via: %s", strings.Join(gone, ", "),
				via(r, p.name))
		}
	}
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		code := http.StatusBadGateway
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			code = http.StatusGatewayTimeout
		}
		p.refuse(w, r, code, "origin: "+err.Error())
		return
	}
	defer resp.Body.Close()
	removeHopByHop(resp.Header)
	resp.Header.Add("Via", via(r, p.name))
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	n, _ := io.Copy(w, resp.Body)
	if p.verbose {
		p.tl.Send(p.name, "client", "%s, %d body bytes, all readable here", resp.Status, n)
	}
}

// connect opens a tunnel for CONNECT host:port (RFC 9110 section 9.3.6):
// after its 200 the connection carries opaque bytes both ways, and the
// proxy sees only the destination and how many bytes pass.
func (p *proxy) connect(w http.ResponseWriter, r *http.Request) {
	dst, err := p.destination(r.Context(), r.Host)
	if err != nil {
		code := http.StatusForbidden
		if !errors.Is(err, errRefused) {
			code = http.StatusBadRequest
		}
		p.refuse(w, r, code, err.Error())
		return
	}
	up, err := dialer.DialContext(r.Context(), "tcp", dst)
	if err != nil {
		p.refuse(w, r, http.StatusBadGateway, err.Error())
		return
	}
	if !p.tunnels.Add(up) {
		up.Close()
		p.refuse(w, r, http.StatusServiceUnavailable, "shutting down")
		return
	}
	defer p.tunnels.Remove(up)
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		p.refuse(w, r, http.StatusHTTPVersionNotSupported, "cannot tunnel over this connection")
		return
	}
	if !p.tunnels.Add(c) {
		up.Close()
		c.Close()
		return
	}
	defer p.tunnels.Remove(c)
	if p.verbose {
		p.tl.Send("client", p.name, "CONNECT %s", r.Host)
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		c.Close()
		up.Close()
		return
	}
	// A client may send its first bytes (a ClientHello) right behind the
	// CONNECT; net/http has them buffered already.
	var early int
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		if _, err := up.Write(b); err != nil {
			c.Close()
			up.Close()
			return
		}
		early = n
	}
	tr, err := lb.Relay(context.Background(), c, up, nil)
	if p.verbose {
		p.tl.Note(p.name, "tunnel to %s closed: %d bytes up, %d down, none of them readable here%s",
			r.Host, tr.AtoB+int64(early), tr.BtoA, errNote(err))
	}
}

func errNote(err error) string {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return ""
	}
	return " (" + err.Error() + ")"
}
