package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"backend-protocols/internal/conntrack"
	"backend-protocols/internal/demo"
)

// Two ways a proxy joins clients to a backend.
const (
	// demuxing: clients multiplex many streams over a few HTTP/2
	// connections; the proxy spreads them over a pool of HTTP/1.1
	// connections to the backend, one request at a time on each.
	demuxing = "h2 -> proxy -> h1"
	// muxing: clients open an HTTP/1.1 connection per concurrent request;
	// the proxy carries them all as streams of one HTTP/2 connection.
	muxing = "h1 -> proxy -> h2"
)

// proxied is what one load through the proxy measured.
type proxied struct {
	Way         string
	N           int             // concurrent requests
	Front, Back conntrack.Stats // as the proxy and the backend saw them
	FrontPer    []int           // requests per client connection
	BackPer     []int           // requests per backend connection
	Total       time.Duration   // first request sent to last response read
	Client      fetched         // what the clients measured
}

// newProxy returns a reverse proxy to backend that reaches it through tr,
// as Envoy or HAProxy would: the client's protocol ends at the proxy, and
// tr alone decides how requests travel to the backend.
func newProxy(backend *url.URL, tr http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(backend)
			pr.SetXForwarded()
		},
		Transport: tr,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
}

// throughProxy starts a backend and a proxy in front of it, joined the way
// named by way, sends n concurrent requests through it and reports the
// connections each side counted. The clients and the proxy warm their
// connections first, as a browser loads a page before its assets and a
// proxy health-checks its backends, so the counts show the steady state.
func throughProxy(ctx context.Context, way string, n, pool, clients int,
	work time.Duration) (proxied, error) {
	res := proxied{Way: way, N: n}
	backT, frontT := conntrack.New(), conntrack.New()
	backend, err := demo.StartHTTP(ctx, newBackend(backT, work), "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer backend.Close()
	bu, _ := url.Parse(backend.URL)

	var toBackend, toProxy *http.Transport
	switch way {
	case demuxing:
		toBackend = newTransport(false, pool)
		toProxy = newTransport(true, 0)
	case muxing:
		toBackend = newTransport(true, 0)
		toProxy = newTransport(false, 0)
		clients = 1 // one HTTP/1.1 client, a connection per request
	default:
		return res, fmt.Errorf("unknown way %q", way)
	}
	defer toBackend.CloseIdleConnections()
	px := &http.Server{Handler: frontT.Handler(newProxy(bu, toBackend)),
		ReadHeaderTimeout: 10 * time.Second}
	h2c(px)
	frontT.Install(px)
	proxy, err := demo.StartHTTP(ctx, px, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer proxy.Close()

	// Warm up: the proxy checks the backend, each client loads the page.
	hc := &http.Client{Transport: toBackend}
	if _, err := get(ctx, hc, backend.URL+"/healthz"); err != nil {
		return res, fmt.Errorf("health check: %w", err)
	}
	cs := make([]*http.Client, clients)
	for i := range cs {
		tp := toProxy
		if i > 0 {
			tp = toProxy.Clone()
		}
		defer tp.CloseIdleConnections()
		cs[i] = &http.Client{Transport: tp}
		if way == demuxing {
			if _, err := get(ctx, cs[i], proxy.URL+"/"); err != nil {
				return res, fmt.Errorf("client %d: %w", i, err)
			}
		}
	}
	frontT.Reset()
	backT.Reset()

	// The load: n requests at once, spread over the clients.
	type part struct {
		f   fetched
		err error
	}
	parts := make(chan part, clients)
	start := time.Now()
	for i, c := range cs {
		share := n / clients
		if i < n%clients {
			share++
		}
		go func() {
			f, err := fetchAll(ctx, c, proxy.URL+"/asset", share)
			parts <- part{f, err}
		}()
	}
	for range cs {
		p := <-parts
		if p.err != nil {
			err = p.err
		}
		res.Client.Requests += p.f.Requests
		res.Client.Conns += p.f.Conns
		res.Client.Proto = p.f.Proto
	}
	res.Total = time.Since(start)
	if err != nil {
		return res, err
	}
	res.Front, res.Back = frontT.Stats(), backT.Stats()
	res.FrontPer, res.BackPer = frontT.PerConn(), backT.PerConn()
	return res, nil
}
