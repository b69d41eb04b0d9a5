package jobs

import (
	"context"
	"fmt"
	"time"

	"backend-protocols/internal/timeline"
)

// Follower asks for a job's status again and again until the job is done:
// the client half of both polling lectures. Short polling sets Every and a
// path that answers at once; long polling sets Every to zero and a path the
// server holds until the progress changes.
type Follower struct {
	Client *Client
	// Path returns the status request for the job, given the last progress
	// heard (0 before the first answer).
	Path func(id string, last int) string
	// Every is the pause between requests; zero asks again at once.
	Every time.Duration
	// Actor names the client on the timeline.
	Actor string
}

// Report is what a follower measured while following one job.
type Report struct {
	Requests int             // status requests sent
	News     int             // answers whose progress differed from the last
	Seen     []int           // progress in each answer, in order
	Delays   []time.Duration // for each news: server's change to the answer's arrival
	Elapsed  time.Duration   // first request to 100%
}

// Wasted is the number of requests whose answer brought nothing new.
func (r Report) Wasted() int { return r.Requests - r.News }

// MeanDelay is the average time from a change on the server to the client
// hearing of it.
func (r Report) MeanDelay() time.Duration {
	if len(r.Delays) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range r.Delays {
		sum += d
	}
	return sum / time.Duration(len(r.Delays))
}

// Follow requests the job's status until it reaches 100%, printing every
// request and answer on tl.
func (f Follower) Follow(ctx context.Context, tl *timeline.Timeline, id string) (Report, error) {
	var rep Report
	start := time.Now()
	last := 0
	for {
		path := f.Path(id, last)
		tl.Send(f.Actor, "server", "GET %s", path)
		st, err := f.Client.Get(ctx, path)
		heard := time.Now()
		if err != nil {
			return rep, fmt.Errorf("request %d: %w", rep.Requests+1, err)
		}
		rep.Requests++
		rep.Seen = append(rep.Seen, st.Progress)
		if st.Progress != last {
			rep.News++
			d := heard.Sub(st.ChangedAt)
			rep.Delays = append(rep.Delays, d)
			tl.Send("server", f.Actor, "JobStatus: %d%%   news, changed %s ago",
				st.Progress, timeline.Ms(d))
		} else {
			tl.Send("server", f.Actor, "JobStatus: %d%%   no change", st.Progress)
		}
		last = st.Progress
		if st.Done() {
			rep.Elapsed = time.Since(start)
			return rep, nil
		}
		if f.Every > 0 {
			select {
			case <-time.After(f.Every):
			case <-ctx.Done():
				return rep, ctx.Err()
			}
		}
	}
}
