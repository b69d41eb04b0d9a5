package h2tap

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Recorder keeps what a tap reports, for a demo or a test to look at, and
// prints frames as they come while printing is on. Pass its OnFrame and
// OnConn to Options.
type Recorder struct {
	// Printer prints frames while printing is on; nil prints nothing.
	Printer *Printer
	// Wait gives up after this long (0: five seconds).
	Timeout time.Duration

	mu      sync.Mutex
	print   bool
	frames  []Frame
	conns   []ConnEvent
	changed chan struct{} // closed and replaced at every report
}

// NewRecorder returns a recorder that prints with p (which may be nil).
func NewRecorder(p *Printer) *Recorder {
	return &Recorder{Printer: p, changed: make(chan struct{})}
}

// OnFrame records f, printing it if printing is on.
func (r *Recorder) OnFrame(f Frame) {
	r.mu.Lock()
	print := r.print && r.Printer != nil
	r.mu.Unlock()
	// Printed before it is recorded, so that a demo waiting for a frame
	// finds it already on the timeline.
	if print {
		r.Printer.Print(f)
	}
	r.mu.Lock()
	r.frames = append(r.frames, f)
	r.notify()
	r.mu.Unlock()
}

// OnConn records a connection opening or closing.
func (r *Recorder) OnConn(e ConnEvent) {
	r.mu.Lock()
	r.conns = append(r.conns, e)
	r.notify()
	r.mu.Unlock()
}

// notify wakes every waiter; the caller holds r.mu.
func (r *Recorder) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Printing turns printing on or off.
func (r *Recorder) Printing(on bool) {
	r.mu.Lock()
	r.print = on
	r.mu.Unlock()
}

// Frames returns every frame recorded, oldest first.
func (r *Recorder) Frames() []Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.frames)
}

// Len is how many frames have been recorded: a mark for Since and Wait.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// Since returns the frames recorded after the first n.
func (r *Recorder) Since(n int) []Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.frames[min(n, len(r.frames)):])
}

// Conns returns the connection events recorded.
func (r *Recorder) Conns() []ConnEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.conns)
}

// ErrTimeout is returned by the waits when nothing came in time.
var ErrTimeout = errors.New("h2tap: waited in vain")

// Wait waits until a frame recorded after the first n satisfies ok, and
// returns it.
func (r *Recorder) Wait(ctx context.Context, n int, ok func(Frame) bool) (Frame, error) {
	var found Frame
	err := r.waitFor(ctx, func() bool {
		for _, f := range r.Since(n) {
			if ok(f) {
				found = f
				return true
			}
		}
		return false
	})
	return found, err
}

// WaitClosed waits until n connections have closed, counted from the
// start.
func (r *Recorder) WaitClosed(ctx context.Context, n int) error {
	return r.waitFor(ctx, func() bool {
		closed := 0
		for _, e := range r.Conns() {
			if e.Closed {
				closed++
			}
		}
		return closed >= n
	})
}

func (r *Recorder) waitFor(ctx context.Context, done func() bool) error {
	d := r.Timeout
	if d <= 0 {
		d = 5 * time.Second
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		r.mu.Lock()
		changed := r.changed
		r.mu.Unlock()
		if done() {
			return nil
		}
		select {
		case <-changed:
		case <-t.C:
			return ErrTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
