package lb

import (
	"fmt"
	"net"
	"strings"
	"time"

	"backend-protocols/internal/demo"
)

// Flags are the command-line options both balancers take.
type Flags struct {
	Policy Policy        // -policy
	TLS    bool          // -tls
	Quiet  bool          // -quiet-conns or -quiet-requests
	Health time.Duration // -health
	// Backends, from -backends, are addresses to front instead of the
	// three backends a -serve starts of its own.
	Backends string
}

// Register adds -policy, -tls, -health (default health for the scenario)
// and -quiet-UNITs to p, where unit names what is logged one line each;
// tls says what -tls does.
func (f *Flags) Register(p *demo.Program, unit, tls string, health time.Duration) {
	f.Health = health
	p.Flags.Var(&f.Policy, "policy",
		"with -serve: the `POLICY` that picks a backend, round-robin (the default) or least-conn")
	p.Flags.BoolVar(&f.TLS, "tls", false, "with -serve: "+tls)
	p.Flags.BoolVar(&f.Quiet, "quiet-"+unit+"s", false,
		"with -serve: no line per "+unit+" (for load tests)")
	p.Flags.DurationVar(&f.Health, "health", health,
		"health check interval (default 1s with -serve)")
	p.Flags.StringVar(&f.Backends, "backends", "",
		"with -serve: front these `ADDRS` (host:port,...) instead of backends of its own")
}

// External returns targets b1, b2, ... for the -backends addresses, or
// nil if there are none.
func (f Flags) External() ([]*Target, error) {
	if f.Backends == "" {
		return nil, nil
	}
	var ts []*Target
	for i, a := range strings.Split(f.Backends, ",") {
		a = strings.TrimSpace(a)
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("-backends: %w", err)
		}
		ts = append(ts, NewTarget(fmt.Sprintf("b%d", i+1), a))
	}
	return ts, nil
}

// Listen opens the -serve listener on addr and gives the flags -serve's
// defaults (see ForServe).
func (f *Flags) Listen(p *demo.Program, addr string) (net.Listener, error) {
	*f = f.ForServe(p)
	return demo.Listen(addr)
}

// ForServe returns the flags with -serve's defaults for those not given
// on the command line: health checks every second, a human's pace.
func (f Flags) ForServe(p *demo.Program) Flags {
	if !p.IsSet("health") {
		f.Health = time.Second
	}
	return f
}
