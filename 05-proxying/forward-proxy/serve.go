package main

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

var quietLog = log.New(io.Discard, "", 0)

type serveConfig struct {
	Ports      []int
	User, Pass string
	CA         *certs.CA // for the HTTPS origin; a new one if nil
}

// serve runs the proxy on ln until ctx is done, with two origins of its
// own to try it on (an http:// shop and an https:// bank); their ports are
// allowed besides sc.Ports.
func serve(ctx context.Context, ln net.Listener, tl *timeline.Timeline, sc serveConfig) error {
	defer ln.Close()
	ca := sc.CA
	if ca == nil {
		var err error
		if ca, err = lb.ServeCA(tl, "proxy", "forward-proxy-ca.pem"); err != nil {
			return err
		}
	}
	o, err := startOrigins(ca)
	if err != nil {
		return err
	}
	defer o.close()
	tl.Note("shop", "listening on http://%s", localhost(o.shop.Addr))
	tl.Note("bank", "listening on https://%s", localhost(o.bank.Addr))
	p := newProxy("proxy", append(o.ports(), sc.Ports...), tl)
	p.user, p.pass, p.verbose = sc.User, sc.Pass, true
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog}
	srv.RegisterOnShutdown(p.close)
	tl.Note("proxy", "listening on %s; loopback destinations on ports %v", ln.Addr(),
		append(o.ports(), sc.Ports...))
	return demo.ServeHTTP(ctx, srv, ln)
}
