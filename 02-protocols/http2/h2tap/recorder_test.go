package h2tap

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"backend-protocols/internal/timeline"
)

func TestRecorder(t *testing.T) {
	tl := timeline.Quiet()
	rec := NewRecorder(&Printer{TL: tl})
	rec.OnFrame(Frame{Header: http2.FrameHeader{Type: http2.FrameData}}) // not printed
	rec.Printing(true)
	mark := rec.Len()
	ctx := context.Background()

	// Two waiters at once both see the frame they wait for.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			f, err := rec.Wait(ctx, mark, func(f Frame) bool { return f.Type() == http2.FramePing })
			if err == nil && f.Dir != ServerToClient {
				err = errors.New("wrong frame")
			}
			errs <- err
		})
	}
	rec.OnFrame(Frame{Dir: ServerToClient, Header: http2.FrameHeader{Type: http2.FramePing}})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(rec.Since(mark)); n != 1 || len(rec.Frames()) != 2 {
		t.Errorf("got %d frames since the mark and %d in all, want 1 and 2", n, len(rec.Frames()))
	}
	if n := len(tl.Events()); n != 1 {
		t.Errorf("printed %d lines, want 1 (printing was off for the first frame)", n)
	}
	rec.OnConn(ConnEvent{Conn: 1, Closed: true})
	if err := rec.WaitClosed(ctx, 1); err != nil {
		t.Error(err)
	}
	rec.Timeout = 20 * time.Millisecond
	if err := rec.WaitClosed(ctx, 2); !errors.Is(err, ErrTimeout) {
		t.Errorf("got %v, want ErrTimeout", err)
	}
}
