package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

type serveConfig struct {
	Policy lb.Policy
	Sticky bool
	TLS    bool
	Health time.Duration
	Quiet  bool      // no line per request (for load tests)
	CA     *certs.CA // with TLS: the CA to issue from; a new one if nil
}

// serve runs the balancer on ln in front of three backends of its own,
// with the course's routes and HTTP health checks, until ctx is done.
func serve(ctx context.Context, ln net.Listener, tl *timeline.Timeline, sc serveConfig) error {
	defer ln.Close()
	var conf *tlsConf
	if sc.TLS {
		ca, err := sc.CA, error(nil)
		if ca == nil {
			if ca, err = certs.NewCA(); err != nil {
				return err
			}
			path := filepath.Join(os.TempDir(), "l7-lb-ca.pem")
			if err := os.WriteFile(path, ca.PEM(), 0o644); err != nil {
				return err
			}
			tl.Note("l7-lb", "CA certificate written to %s (curl --cacert %s)", path, path)
		}
		if conf, err = tlsFrom(ca); err != nil {
			return err
		}
	}
	bs, err := startBackends()
	if err != nil {
		return err
	}
	defer closeAll(bs)
	for _, b := range bs {
		tl.Note(b.Name, "listening on %s", b.URL())
	}
	ts := targets(bs)
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
	var wg sync.WaitGroup
	wg.Go(func() { checker.Run(ctx, ts...) })
	defer wg.Wait()
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog}
	scheme := "http"
	if conf != nil {
		srv.TLSConfig, scheme = conf.server, "https"
	}
	tl.Note("l7-lb", "listening on %s://%s (%s; /admin 403, /app1 -> b1 b2, /app2 -> b3, / -> all)",
		scheme, ln.Addr(), sc.Policy)
	return demo.ServeHTTP(ctx, srv, ln)
}
