package timing

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx is done, whichever comes first. It
// returns nil after a full wait and ctx.Err() otherwise; with d <= 0 it
// returns ctx.Err() at once. Handlers that simulate work use it so that a
// client hanging up, or a server shutting down, ends the wait.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
