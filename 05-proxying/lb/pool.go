package lb

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
)

// ErrNoBackend is returned when every backend is down or already tried.
var ErrNoBackend = errors.New("lb: no backend available")

// Target is one backend as a balancer sees it: an address, whether health
// checks think it is up, and how many connections or requests it is
// carrying now.
type Target struct {
	Name, Addr string

	down   atomic.Bool // the zero value is up: a new target gets traffic
	active atomic.Int64
	picked atomic.Int64
}

// NewTarget returns a target that is up.
func NewTarget(name, addr string) *Target {
	return &Target{Name: name, Addr: addr}
}

// Up reports whether the target may be picked.
func (t *Target) Up() bool { return !t.down.Load() }

// SetUp marks the target up or down and reports whether that changed it.
func (t *Target) SetUp(up bool) bool { return t.down.Swap(!up) == up }

// Active is how many picks of this target have not been released yet:
// open connections for an L4 balancer, requests in flight for an L7 one.
func (t *Target) Active() int64 { return t.active.Load() }

// Picked counts how often the target was picked.
func (t *Target) Picked() int64 { return t.picked.Load() }

func (t *Target) String() string { return t.Name }

// Policy is how a Pool chooses among the targets that are up.
type Policy int

const (
	// RoundRobin takes the up targets in turn.
	RoundRobin Policy = iota
	// LeastConn takes the up target with the fewest active picks, in turn
	// among equals.
	LeastConn
)

func (p Policy) String() string {
	switch p {
	case RoundRobin:
		return "round-robin"
	case LeastConn:
		return "least-conn"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy reads "round-robin" or "least-conn", as flags spell them.
func ParsePolicy(s string) (Policy, error) {
	for _, p := range []Policy{RoundRobin, LeastConn} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown policy %q (want round-robin or least-conn)", s)
}

// Set parses a flag's value: Policy is a flag.Value.
func (p *Policy) Set(s string) error {
	v, err := ParsePolicy(s)
	if err == nil {
		*p = v
	}
	return err
}

// Pool is a set of targets and a policy. It is safe for concurrent use.
type Pool struct {
	Policy  Policy
	Targets []*Target

	turn atomic.Uint64
}

// NewPool returns a pool of targets, all up.
func NewPool(p Policy, targets ...*Target) *Pool {
	return &Pool{Policy: p, Targets: targets}
}

// Pick chooses an up target that is not in skip (the ones a retry has
// already tried) and counts it active until release is called. It returns
// ErrNoBackend when none is left.
func (p *Pool) Pick(skip ...*Target) (t *Target, release func(), err error) {
	var live []*Target
	for _, t := range p.Targets {
		if t.Up() && !slices.Contains(skip, t) {
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		return nil, nil, ErrNoBackend
	}
	if p.Policy == LeastConn {
		// Read each count once: they change under our feet.
		counts := make([]int64, len(live))
		for i, t := range live {
			counts[i] = t.Active()
		}
		least := slices.Min(counts)
		n := 0
		for i, t := range live {
			if counts[i] == least {
				live[n] = t
				n++
			}
		}
		live = live[:n]
	}
	// Turning over the live targets, not all of them, keeps the shares
	// even when one is down.
	t = live[(p.turn.Add(1)-1)%uint64(len(live))]
	t.active.Add(1)
	t.picked.Add(1)
	var once atomic.Bool
	return t, func() {
		if once.CompareAndSwap(false, true) {
			t.active.Add(-1)
		}
	}, nil
}

// Get returns the target called name, or nil.
func (p *Pool) Get(name string) *Target {
	for _, t := range p.Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}
