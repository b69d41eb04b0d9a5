// Compare (lectures 29 to 35): every way to fetch one HTTPS resource that
// the chapter builds, over the same emulated path, in one table: round
// trips to the first response byte, measured and as the lecture predicts,
// and the bytes each way until then.
//
//	go run ./03-https/compare
//	go run ./03-https/compare -rtt 100ms
//	go run ./03-https/compare -loss 0.02 -runs 5
//
// Each row is a fresh connection from a client that has already visited
// once where the row needs it (a session ticket to resume with, a Fast
// Open cookie), measured from before it dialled. With -runs N each row is
// measured N times and the run with the median time is shown.
package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/variant"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	lab.Reexec()
	var cfg config
	p := demo.New("compare",
		"Every HTTPS variant of chapter 3 over the same path, in round trips.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cfg)
				return err
			},
		})
	lab.Flags(p.Flags, &cfg.Lab)
	p.Flags.IntVar(&cfg.Runs, "runs", 1, "measure each row this many times and show the median")
	p.Main()
}

type config struct {
	Lab  lab.Config
	Runs int
}

// row is one measured line of the table.
type row struct {
	variant.Row
	Trip    lab.Trip // the median run
	Runs    []time.Duration
	Skipped error
}

// maxRuns bounds -runs.
const maxRuns = 50

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) ([]row, error) {
	runs := min(max(cfg.Runs, 1), maxRuns)
	l, err := lab.New(cfg.Lab)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	tl.Note("lab", "%s", l.Describe())
	var rows []row
	for _, v := range variant.Rows() {
		r := row{Row: v}
		if v.NeedsLink && !l.Emulated() {
			r.Skipped = variant.ErrNeedsLink
			rows = append(rows, r)
			continue
		}
		var trips []lab.Trip
		for range runs {
			t, err := v.Measure(ctx, l)
			if err != nil {
				return rows, fmt.Errorf("%s: %w", v.Name, err)
			}
			trips = append(trips, t)
			r.Runs = append(r.Runs, t.TTFB)
		}
		slices.SortFunc(trips, func(a, b lab.Trip) int { return int(a.TTFB - b.TTFB) })
		r.Trip = trips[len(trips)/2]
		tl.Note("client", "%-28s first byte after %s (%.2f RTT, predicted %d)",
			v.Name, timeline.Ms(r.Trip.TTFB), r.Trip.RoundTrips(), v.Predicted)
		rows = append(rows, r)
	}
	tl.Printf("")
	printTable(tl, l, rows, runs)
	l.Caveats(tl)
	return rows, nil
}

// printTable prints the comparison.
func printTable(tl *timeline.Timeline, l *lab.Lab, rows []row, runs int) {
	what := "one run each"
	if runs > 1 {
		what = fmt.Sprintf("median of %d runs", runs)
	}
	tl.Printf("Round trips to the first response byte at %v RTT (%s):", l.RTT(), what)
	tl.Printf("")
	packets := "packets"
	if !l.Emulated() {
		packets = "writes" // the relays show no packets
	}
	slowest := ""
	if runs > 1 {
		slowest = fmt.Sprintf(" %9s |", "slowest")
	}
	tl.Printf("| %-26s | %9s | %8s | %9s |%s %7s | %15s |", "variant", "predicted",
		"measured", "TTFB", slowest, packets, "bytes up/down")
	if runs > 1 {
		slowest = dashes(11) + "|"
	}
	tl.Printf("|%s|%s|%s|%s|%s%s|%s|", dashes(28), dashes(11), dashes(10),
		dashes(11), slowest, dashes(9), dashes(17))
	for _, r := range rows {
		if r.Skipped != nil {
			if runs > 1 {
				slowest = fmt.Sprintf(" %9s |", "-")
			}
			tl.Printf("| %-26s | %9d | %8s | %9s |%s %7s | %15s |", r.Name, r.Predicted,
				"-", "-", slowest, "-", "not measured")
			continue
		}
		if runs > 1 {
			slowest = fmt.Sprintf(" %9s |", timeline.Ms(slices.Max(r.Runs)))
		}
		up, upB, down, downB := r.Trip.Bytes()
		tl.Printf("| %-26s | %9d | %8.2f | %9s |%s %7d | %15s |", r.Name, r.Predicted,
			r.Trip.RoundTrips(), timeline.Ms(r.Trip.TTFB), slowest, up+down,
			fmt.Sprintf("%d/%d", upB, downB))
	}
	for _, r := range rows {
		if errors.Is(r.Skipped, variant.ErrNeedsLink) {
			tl.Printf("\n%s: not measured, it %v.", r.Name, r.Skipped)
		}
	}
}

func dashes(n int) string { return strings.Repeat("-", n) }
