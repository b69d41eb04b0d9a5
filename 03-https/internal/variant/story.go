package variant

import (
	"context"
	"fmt"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/internal/timeline"
)

// Visits is the story of the tls12 and tls13 demos: a first visit with a
// full handshake, then a second on a new connection, resumed with the
// session the first left behind.
type Visits struct {
	Full, Resumed lab.Trip
}

// FullThenResumed runs Visits for the TLS-over-TCP variant opts, naming
// the trips after name and predicting full and resumed round trips, and
// prints both ladders and a table to tl.
func FullThenResumed(ctx context.Context, tl *timeline.Timeline, cfg lab.Config,
	opts TLSOptions, name string, full, resumed int) (Visits, error) {
	var v Visits
	l, err := lab.New(cfg)
	if err != nil {
		return v, err
	}
	defer l.Close()
	tl.Note("lab", "%s", l.Describe())
	s, err := StartTLS(l, opts)
	if err != nil {
		return v, err
	}
	defer s.Close()
	c := s.Client()

	tl.Printf("\n== visit 1: full handshake ==")
	if v.Full, err = c.Fetch(ctx, name, full); err != nil {
		return v, err
	}
	lab.Report(tl, v.Full)

	tl.Printf("\n== visit 2: a new connection, resumed with the session from visit 1 ==")
	if v.Resumed, err = c.Fetch(ctx, name+", resumed", resumed); err != nil {
		return v, err
	}
	lab.Report(tl, v.Resumed)
	if !v.Resumed.Resumed {
		return v, fmt.Errorf("visit 2 was not resumed")
	}
	tl.Printf("")
	lab.PrintTable(tl, []lab.Trip{v.Full, v.Resumed})
	l.Caveats(tl)
	return v, nil
}
