package lb

import (
	"time"

	"backend-protocols/internal/demo"
)

// Flags are the command-line options both balancers take.
type Flags struct {
	Policy Policy        // -policy
	TLS    bool          // -tls
	Quiet  bool          // -quiet-conns or -quiet-requests
	Health time.Duration // -health
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
}

// ForServe returns the flags with -serve's defaults for those not given
// on the command line: health checks every second, a human's pace.
func (f Flags) ForServe(p *demo.Program) Flags {
	if !p.IsSet("health") {
		f.Health = time.Second
	}
	return f
}
