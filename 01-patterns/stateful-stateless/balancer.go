package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/internal/conntrack"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// cluster is one deployment of the app: a round-robin balancer in front
// of two instances, and, in the store mode, the shared session store.
type cluster struct {
	cfg       appConfig
	instances []*instance
	lb        *running
	lbConns   *conntrack.Tracker // the client side of the balancer
	toApps    *http.Transport    // the balancer's connections to the instances
	store     *demo.Running
	next      atomic.Uint64
	restarts  sync.Mutex // one restart at a time
}

// startCluster starts the store (store mode), instances a and b, and
// the balancer on ln (a new listener on 127.0.0.1 if nil).
func startCluster(ctx context.Context, tl *timeline.Timeline, cfg appConfig,
	ln net.Listener) (*cluster, error) {
	c := &cluster{cfg: cfg, lbConns: conntrack.New(), toApps: &http.Transport{}}
	if cfg.Mode == store {
		var err error
		c.store, err = demo.StartHTTP(ctx, &http.Server{
			Handler: newSessionStore().handler()}, "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		c.cfg.Store = &storeClient{base: c.store.URL, hc: &http.Client{}}
		tl.Note("store", "shared session store on %s", c.store.URL)
	}
	for _, name := range []string{"a", "b"} {
		in, err := startInstance(ctx, name, c.cfg, tl, "127.0.0.1:0")
		if err != nil {
			c.close()
			return nil, err
		}
		c.instances = append(c.instances, in)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			in := c.instances[(c.next.Add(1)-1)%uint64(len(c.instances))]
			u, _ := url.Parse(in.url())
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		Transport: c.toApps,
		// A client hanging up mid-response is part of the story, not
		// an error worth a log line.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	mux := http.NewServeMux()
	mux.Handle("/", c.lbConns.Handler(proxy))
	mux.HandleFunc("POST /lb/restart", func(w http.ResponseWriter, r *http.Request) {
		if err := c.restart(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "restarted a and b")
	})
	mux.Handle("GET /lb/conns", c.lbConns)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	c.lbConns.Install(srv)
	if ln == nil {
		var err error
		if ln, err = demo.Listen("127.0.0.1:0"); err != nil {
			c.close()
			return nil, err
		}
	}
	c.lb = serveOn(ctx, srv, ln)
	tl.Note("lb", "round robin on %s over a (%s) and b (%s), mode %s",
		c.lb.URL, c.instances[0].addr, c.instances[1].addr, cfg.Mode)
	return c, nil
}

// restart restarts every instance, one after the other. The balancer
// drops its idle connections to them, which the restart closed.
func (c *cluster) restart(ctx context.Context) error {
	c.restarts.Lock()
	defer c.restarts.Unlock()
	for _, in := range c.instances {
		if err := in.restart(ctx); err != nil {
			return err
		}
	}
	c.toApps.CloseIdleConnections()
	return nil
}

// running is a server started by serveOn.
type running struct {
	URL  string
	stop context.CancelFunc
	errc chan error
}

// serveOn serves srv on ln in the background until ctx is done or Close
// is called, as demo.StartHTTP does on an address.
func serveOn(ctx context.Context, srv *http.Server, ln net.Listener) *running {
	ctx, stop := context.WithCancel(ctx)
	r := &running{URL: "http://" + ln.Addr().String(), stop: stop,
		errc: make(chan error, 1)}
	go func() { r.errc <- demo.ServeHTTP(ctx, srv, ln) }()
	return r
}

// Close stops the server gracefully and returns how serving ended.
func (r *running) Close() error {
	r.stop()
	return <-r.errc
}

func (c *cluster) close() {
	if c.lb != nil {
		c.lb.Close()
	}
	for _, in := range c.instances {
		in.close()
	}
	c.toApps.CloseIdleConnections()
	if c.store != nil {
		c.cfg.Store.hc.CloseIdleConnections()
		c.store.Close()
	}
}
