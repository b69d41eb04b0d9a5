package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

type serveConfig struct {
	lb.Flags
	Sticky bool
	CA     *certs.CA // with TLS: the CA to issue from; a new one if nil
}

// serve runs the balancer on ln in front of three backends of its own (or
// the three -backends names), with the course's routes and HTTP health
// checks, until ctx is done.
func serve(ctx context.Context, ln net.Listener, tl *timeline.Timeline, sc serveConfig) error {
	defer ln.Close()
	var conf *tlsConf
	if sc.TLS {
		ca, err := sc.CA, error(nil)
		if ca == nil {
			if ca, err = lb.ServeCA(tl, "l7-lb", "l7-lb-ca.pem"); err != nil {
				return err
			}
		}
		if conf, err = tlsFrom(ca); err != nil {
			return err
		}
	}
	ts, err := sc.External()
	if err != nil {
		return err
	}
	if ts == nil {
		bs, err := lb.StartBackends(lb.BackendOptions{}, names...)
		if err != nil {
			return err
		}
		defer lb.CloseBackends(bs)
		lb.Announce(tl, bs)
		ts = lb.Targets(bs)
	}
	if len(ts) != 3 {
		return fmt.Errorf("-backends: got %d addresses, want 3 for the course's routes", len(ts))
	}
	b := newBalancer("l7-lb", courseRoutes(ts, sc.Policy), tl)
	b.sticky, b.verbose = sc.Sticky, !sc.Quiet
	defer b.close()
	hc := &http.Client{Timeout: sc.Health}
	defer hc.CloseIdleConnections()
	checker := &lb.Checker{Check: lb.HTTPCheck(hc, "http", "/healthz"), Interval: sc.Health,
		Fall: 2, Rise: 2, OnChange: func(t *lb.Target, up bool, err error) {
			if up {
				tl.Note("health", "%s is back in", t)
			} else {
				tl.Note("health", "%s out: %v", t, err)
			}
		}}
	defer checker.Start(ctx, ts...)()
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog}
	scheme := "http"
	if conf != nil {
		srv.TLSConfig, scheme = conf.server, "https"
	}
	tl.Note("l7-lb", "listening on %s://%s (%s; /admin 403, /app1 -> b1 b2, /app2 -> b3, / -> all)",
		scheme, ln.Addr(), sc.Policy)
	return demo.ServeHTTP(ctx, srv, ln)
}
