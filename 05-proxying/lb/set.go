package lb

import (
	"slices"

	"backend-protocols/internal/timeline"
)

// StartBackends starts a backend for each name, all with the same
// options; if one fails, it stops those already started.
func StartBackends(o BackendOptions, names ...string) ([]*Backend, error) {
	var bs []*Backend
	for _, n := range names {
		b, err := StartBackend(n, o)
		if err != nil {
			CloseBackends(bs)
			return nil, err
		}
		bs = append(bs, b)
	}
	return bs, nil
}

// CloseBackends stops every backend.
func CloseBackends(bs []*Backend) {
	for _, b := range bs {
		b.Close()
	}
}

// Targets returns a target, up, for each backend.
func Targets(bs []*Backend) []*Target {
	var ts []*Target
	for _, b := range bs {
		ts = append(ts, NewTarget(b.Name, b.Addr))
	}
	return ts
}

// Even reports whether a tally gave exactly each to every one of names
// and nothing to anyone else.
func Even(tally map[string]int, each int, names ...string) bool {
	for _, n := range names {
		if tally[n] != each {
			return false
		}
	}
	for n := range tally {
		if !slices.Contains(names, n) {
			return false
		}
	}
	return true
}

// Announce says on tl where each backend listens.
func Announce(tl *timeline.Timeline, bs []*Backend) {
	for _, b := range bs {
		tl.Note(b.Name, "listening on %s", b.URL())
	}
}

// Scenes runs a scenario's scenes in order, with a blank line after each,
// and stops at the first that fails.
func Scenes(tl *timeline.Timeline, scenes ...func() error) error {
	for _, scene := range scenes {
		if err := scene(); err != nil {
			return err
		}
		tl.Printf("")
	}
	return nil
}
