package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// result is what the scenario measured; the test asserts on it.
type result struct {
	HTTPOriginSaw  string // the origin's view of the proxied http request
	HTTPSAnswer    string // the backend's name, over the tunnel
	HTTPSVerified  string // the certificate name the client verified
	ProxySawHTTP   []string
	ProxySawHTTPS  []string
	Refused        map[string]string // request -> status line
	NoAuth, BadPW  int
	WithAuth       string
	HalfClose      string
	TunnelOpenedOK bool
}

// origins are the servers behind the proxy: a plain HTTP shop and an
// HTTPS bank, and the sink for the half-close scene.
type origins struct {
	shop, bank *lb.Backend
	sink       *lb.Sink
}

func startOrigins(ca *certs.CA) (*origins, error) {
	o := &origins{}
	var err error
	if o.shop, err = lb.StartBackend("shop", lb.BackendOptions{}); err != nil {
		return nil, err
	}
	conf, err := ca.ServerConfig()
	if err != nil {
		o.close()
		return nil, err
	}
	if o.bank, err = lb.StartBackend("bank", lb.BackendOptions{TLS: conf}); err != nil {
		o.close()
		return nil, err
	}
	if o.sink, err = lb.StartSink("sink"); err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

func (o *origins) close() {
	if o.shop != nil {
		o.shop.Close()
	}
	if o.bank != nil {
		o.bank.Close()
	}
	if o.sink != nil {
		o.sink.Close()
	}
}

func (o *origins) ports() []int {
	return []int{port(o.shop.Addr), port(o.bank.Addr), port(o.sink.Addr)}
}

func port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// localhost names an origin the way a browser user would.
func localhost(addr string) string {
	return strings.Replace(addr, "127.0.0.1", "localhost", 1)
}

// startProxy serves p on a fresh loopback port; the server's shutdown
// also ends p's tunnels.
func startProxy(ctx context.Context, p *proxy) (*demo.Running, error) {
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog}
	srv.RegisterOnShutdown(p.close)
	return demo.StartHTTP(ctx, srv, "127.0.0.1:0")
}

func viaProxy(proxyURL string, ca *certs.CA) *http.Client {
	u, _ := url.Parse(proxyURL)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(u), TLSClientConfig: ca.ClientConfig(), ForceAttemptHTTP2: true}}
}

func closeIdle(c *http.Client) { c.Transport.(*http.Transport).CloseIdleConnections() }

func scenario(ctx context.Context, tl *timeline.Timeline) (result, error) {
	res := result{Refused: map[string]string{}}
	ca, err := certs.NewCA()
	if err != nil {
		return res, err
	}
	o, err := startOrigins(ca)
	if err != nil {
		return res, err
	}
	defer o.close()
	tl.Note("shop", "listening on %s", o.shop.URL())
	tl.Note("bank", "listening on %s", o.bank.URL())
	p := newProxy("proxy", o.ports(), tl)
	p.verbose = true
	run, err := startProxy(ctx, p)
	if err != nil {
		return res, err
	}
	defer run.Close()
	tl.Note("proxy", "listening on %s; allows loopback ports %v only", run.Addr, o.ports())
	c := viaProxy(run.URL, ca)
	defer closeIdle(c)
	if err := lb.Scenes(tl,
		func() error { return plainHTTP(ctx, tl, c, o, &res) },
		func() error { return tunnel(ctx, tl, c, o, &res) },
		func() error { return refused(ctx, tl, run.Addr, o, &res) },
		func() error { return auth(ctx, tl, ca, o, &res) },
		func() error { return halfClose(ctx, tl, run.Addr, o, &res) },
	); err != nil {
		return res, err
	}
	tl.Printf("== what the proxy could read")
	tl.Printf("  %-22s %s", "http://", "method, full URL with query, every header (cookies, tokens), bodies")
	tl.Printf("  %-22s %s", "https:// via CONNECT", "host and port, when, and how many bytes; with SNI, the name")
	return res, nil
}

// secretGet sends a GET for target with what a client would not want a
// proxy to read: a bearer token, a session cookie, a card number in the
// query, and any extra headers.
func secretGet(ctx context.Context, c *http.Client, target string, extra ...string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/headers?card=4111-1111", nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer tok-4242")
	req.Header.Set("Cookie", "session=s3cr3t")
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func plainHTTP(ctx context.Context, tl *timeline.Timeline, c *http.Client, o *origins, res *result) error {
	tl.Printf("== http:// through the proxy: an absolute-form request it reads in full")
	events := len(tl.Events())
	_, body, err := secretGet(ctx, c, "http://"+localhost(o.shop.Addr),
		"Connection", "X-Trace", "X-Trace", "for the proxy only")
	if err != nil {
		return err
	}
	for _, e := range tl.Events()[events:] {
		res.ProxySawHTTP = append(res.ProxySawHTTP, e.Text)
	}
	res.HTTPOriginSaw = string(body)
	tl.Printf("shop received:")
	for _, l := range strings.Split(strings.TrimSpace(res.HTTPOriginSaw), "\n") {
		tl.Printf("    | %s", l)
	}
	return nil
}

func tunnel(ctx context.Context, tl *timeline.Timeline, c *http.Client, o *origins, res *result) error {
	tl.Printf("== https:// through the proxy: CONNECT, then bytes it cannot read")
	events := len(tl.Events())
	resp, _, err := secretGet(ctx, c, "https://"+localhost(o.bank.Addr))
	if err != nil {
		return err
	}
	closeIdle(c) // ends the tunnel, so the proxy reports it
	res.HTTPSAnswer = resp.Header.Get("X-Backend")
	res.HTTPSVerified = resp.TLS.PeerCertificates[0].DNSNames[0]
	tl.Send("bank", "client", "%s from %s over %s, certificate for %s verified end to end",
		resp.Status, res.HTTPSAnswer, resp.Proto, res.HTTPSVerified)
	// The proxy reports the tunnel when both ends have closed: wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !saidSince(tl, events, "tunnel to") {
		time.Sleep(time.Millisecond)
	}
	for _, e := range tl.Events()[events:] {
		if e.From == "proxy" || e.To == "proxy" {
			res.ProxySawHTTPS = append(res.ProxySawHTTPS, e.Text)
		}
	}
	return nil
}

// saidSince reports whether an event from index from on mentions text.
func saidSince(tl *timeline.Timeline, from int, text string) bool {
	for _, e := range tl.Events()[from:] {
		if strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}

// rawRequest sends text to the proxy on a fresh connection and returns
// the status line of the answer.
func rawRequest(ctx context.Context, addr, text string) (string, error) {
	c, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, text); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func refused(ctx context.Context, tl *timeline.Timeline, addr string, o *origins, res *result) error {
	tl.Printf("== not an open proxy")
	bank := strconv.Itoa(port(o.bank.Addr))
	for _, target := range []string{
		"CONNECT 203.0.113.7:" + bank + " HTTP/1.1\r\nHost: 203.0.113.7:" + bank + "\r\n\r\n",
		"CONNECT localhost:22 HTTP/1.1\r\nHost: localhost:22\r\n\r\n",
		"GET http://127.0.0.1:25/ HTTP/1.1\r\nHost: 127.0.0.1:25\r\n\r\n",
		"GET /headers HTTP/1.1\r\nHost: " + addr + "\r\n\r\n",
		"CONNECT nowhere HTTP/1.1\r\nHost: nowhere\r\n\r\n",
	} {
		line, err := rawRequest(ctx, addr, target)
		if err != nil {
			return err
		}
		first, _, _ := strings.Cut(target, "\r\n")
		res.Refused[first] = line
		tl.Send("proxy", "client", "%-42s -> %s", first, line)
	}
	return nil
}

func auth(ctx context.Context, tl *timeline.Timeline, ca *certs.CA, o *origins, res *result) error {
	tl.Printf("== proxy authentication: 407 until the client says who it is")
	p := newProxy("proxy", o.ports(), tl)
	p.user, p.pass = "alice", "wonderland"
	run, err := startProxy(ctx, p)
	if err != nil {
		return err
	}
	defer run.Close()
	target := "http://" + localhost(o.shop.Addr) + "/headers"
	for _, cred := range []string{"", "alice:guess@", "alice:wonderland@"} {
		u := "http://" + cred + run.Addr
		c := viaProxy(u, ca)
		resp, err := c.Get(target)
		closeIdle(c)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch cred {
		case "":
			res.NoAuth = resp.StatusCode
		case "alice:guess@":
			res.BadPW = resp.StatusCode
		default:
			res.WithAuth = string(body)
		}
		who := strings.TrimSuffix(cred, "@")
		if who == "" {
			who = "no credentials"
		}
		tl.Send("proxy", "client", "%-18s %s %s", who, resp.Status,
			resp.Header.Get("Proxy-Authenticate"))
	}
	if strings.Contains(res.WithAuth, "Proxy-Authorization") {
		tl.Note("shop", "received the proxy's credentials: they leaked")
	} else {
		tl.Note("shop", "received no Proxy-Authorization: the credentials were for the proxy alone")
	}
	return nil
}

func halfClose(ctx context.Context, tl *timeline.Timeline, addr string, o *origins, res *result) error {
	tl.Printf("== half-close through a tunnel")
	c, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", o.sink.Addr, o.sink.Addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("CONNECT to the sink: %s", resp.Status)
	}
	res.TunnelOpenedOK = true
	tl.Send("client", "proxy", "100000 bytes through the tunnel, then FIN")
	got, err := lb.HalfClose(c.(*net.TCPConn), br, 100000)
	if err != nil {
		return err
	}
	res.HalfClose = got
	tl.Send("proxy", "client", "%q, then FIN", strings.TrimSpace(res.HalfClose))
	return nil
}
