package servers

import (
	"context"
	"fmt"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/timeline"
)

// Serve keeps s up until ctx is done, then tells tl what each of its
// threads did, and closes it. It is the -serve mode of the demos.
func Serve(ctx context.Context, s Server, tl *timeline.Timeline) error {
	defer s.Close()
	tl.Note("server", "%s on %s", s.Name(), s.Addr())
	<-ctx.Done()
	switch s := s.(type) {
	case *SingleThread:
		report(tl, s.Loop, "")
	case *MultiReader:
		for i, r := range s.Readers {
			report(tl, r, fmt.Sprintf("%d connections handed to it, ", s.Handed[i].Load()))
		}
	case *MessageLB:
		report(tl, s.Reader, "")
		for _, w := range s.Workers {
			tl.Note(w.String(), "tid %d: %d requests, %s CPU", w.TID(), w.Jobs.Load(),
				timeline.Ms(w.Usage().CPU()))
		}
	case *MultiAcceptor:
		for _, t := range s.Threads {
			report(tl, t, "")
		}
	case *Sharding:
		for _, sh := range s.Shards {
			report(tl, sh.Loop, "")
		}
	}
	return nil
}

// report tells what one loop's thread did.
func report(tl *timeline.Timeline, l *rawnet.Loop, extra string) {
	st := l.Stats()
	u, _ := l.Usage()
	tl.Note(l.Name(), "tid %d: %s%d accepted, %d requests, %d listener wake-ups (%d found nothing), %s CPU",
		l.TID(), extra, st.Accepted, st.Requests, st.ListenWakeups, st.EmptyAccepts,
		timeline.Ms(u.CPU()))
}
