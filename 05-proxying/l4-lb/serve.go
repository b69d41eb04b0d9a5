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

// serve runs the balancer on ln in front of three backends of its own (or
// those -backends names), with TCP health checks, until ctx is done. With
// TLS the backends serve HTTPS and the balancer routes bN.localhost to bN
// by server name and balances every other name.
func serve(ctx context.Context, ln net.Listener, tl *timeline.Timeline, sc serveConfig) error {
	defer ln.Close()
	copy, err := parseCopy(sc.Copy)
	if err != nil {
		return err
	}
	ts, err := sc.External()
	if err != nil {
		return err
	}
	if ts == nil {
		bs, err := ownBackends(tl, sc)
		if err != nil {
			return err
		}
		defer lb.CloseBackends(bs)
		ts = lb.Targets(bs)
	}
	pool := lb.NewPool(sc.Policy, ts...)
	bal := &balancer{name: "l4-lb", pool: pool, copy: copy, tl: tl, verbose: !sc.Quiet}
	if sc.TLS {
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

// ownBackends starts b1, b2 and b3, speaking HTTPS with certificates from
// the demo CA if sc.TLS.
func ownBackends(tl *timeline.Timeline, sc serveConfig) ([]*lb.Backend, error) {
	ca := sc.CA
	if sc.TLS && ca == nil {
		var err error
		if ca, err = lb.ServeCA(tl, "l4-lb", "l4-lb-ca.pem"); err != nil {
			return nil, err
		}
	}
	var bs []*lb.Backend
	for _, name := range names {
		var o lb.BackendOptions
		if sc.TLS {
			hosts := append(slices.Clone(certs.DefaultHosts), name+".localhost")
			var err error
			if o.TLS, err = ca.ServerConfig(hosts...); err != nil {
				lb.CloseBackends(bs)
				return nil, err
			}
		}
		b, err := lb.StartBackend(name, o)
		if err != nil {
			lb.CloseBackends(bs)
			return nil, err
		}
		bs = append(bs, b)
	}
	lb.Announce(tl, bs)
	return bs, nil
}
