package main

import (
	"context"
	"fmt"
	"net"
	"slices"

	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/timeline"
)

type serveConfig struct {
	lb.Flags
	Copy string    // splice or user
	CA   *certs.CA // with TLS: the CA to issue from; a new one if nil
}

func parseCopy(s string) (lb.Copier, error) {
	switch s {
	case "splice":
		return lb.KernelCopy, nil
	case "user":
		return lb.UserCopy, nil
	}
	return nil, fmt.Errorf("unknown -copy %q (want splice or user)", s)
}

// serve runs the balancer on addr in front of three backends of its own,
// with TCP health checks, until ctx is done. With TLS the backends serve
// HTTPS and the balancer routes bN.localhost to bN by server name and
// balances every other name.
func serve(ctx context.Context, ln net.Listener, tl *timeline.Timeline, sc serveConfig) error {
	defer ln.Close()
	copy, err := parseCopy(sc.Copy)
	if err != nil {
		return err
	}
	ca := sc.CA
	if sc.TLS && ca == nil {
		if ca, err = lb.ServeCA(tl, "l4-lb", "l4-lb-ca.pem"); err != nil {
			return err
		}
	}
	if !sc.TLS {
		ca = nil
	}
	var bs []*lb.Backend
	defer func() { lb.CloseBackends(bs) }()
	for _, name := range names {
		var o lb.BackendOptions
		if ca != nil {
			hosts := append(slices.Clone(certs.DefaultHosts), name+".localhost")
			if o.TLS, err = ca.ServerConfig(hosts...); err != nil {
				return err
			}
		}
		b, err := lb.StartBackend(name, o)
		if err != nil {
			return err
		}
		bs = append(bs, b)
		tl.Note(name, "listening on %s", b.URL())
	}
	pool := newPool(sc.Policy, bs)
	bal := &balancer{name: "l4-lb", pool: pool, copy: copy, tl: tl, verbose: !sc.Quiet}
	if ca != nil {
		bal.byName = map[string]*lb.Pool{}
		for _, t := range pool.Targets {
			bal.byName[t.Name+".localhost"] = lb.NewPool(sc.Policy, t)
		}
	}
	checker := &lb.Checker{Check: lb.DialCheck(), Interval: sc.Health, Fall: 2, Rise: 2,
		OnChange: func(t *lb.Target, up bool, err error) {
			if up {
				tl.Note("health", "%s is back in the pool", t)
			} else {
				tl.Note("health", "%s out of the pool: %v", t, err)
			}
		}}
	defer checker.Start(ctx, pool.Targets...)()
	tl.Note("l4-lb", "listening on %s (%s, %s copy, health checks every %v)",
		ln.Addr(), sc.Policy, sc.Copy, sc.Health)
	return bal.serve(ctx, ln)
}
