package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"backend-protocols/02-protocols/http2/h2tap"
	"backend-protocols/internal/timeline"
)

// wire watches a connection through the frame tap: it prints frames
// while printing is on, showing each DATA frame's gRPC message prefix,
// and keeps every frame for the scenario to check.
type wire struct {
	p *h2tap.Printer

	mu      sync.Mutex
	print   bool
	frames  []h2tap.Frame
	methods map[uint32]string // stream -> :path, from request headers
	wake    chan struct{}
}

func newWire(tl *timeline.Timeline) *wire {
	w := &wire{methods: map[uint32]string{}, wake: make(chan struct{}, 1)}
	w.p = &h2tap.Printer{TL: tl, Data: w.describe}
	return w
}

func (w *wire) onFrame(f h2tap.Frame) {
	w.mu.Lock()
	w.frames = append(w.frames, f)
	if p, ok := f.Field(":path"); ok {
		w.methods[f.StreamID()] = p
	}
	print := w.print
	w.mu.Unlock()
	if print {
		w.p.Print(f)
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *wire) printing(on bool) {
	w.mu.Lock()
	w.print = on
	w.mu.Unlock()
}

func (w *wire) all() []h2tap.Frame {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.frames)
}

// since returns the frames seen after the first n.
func (w *wire) since(n int) []h2tap.Frame { return w.all()[n:] }

// wait waits until a frame after the first n satisfies ok.
func (w *wire) wait(ctx context.Context, n int, ok func(h2tap.Frame) bool) (h2tap.Frame, error) {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	for {
		for _, f := range w.since(n) {
			if ok(f) {
				return f, nil
			}
		}
		select {
		case <-w.wake:
		case <-t.C:
			return h2tap.Frame{}, errors.New("the frame never came")
		case <-ctx.Done():
			return h2tap.Frame{}, ctx.Err()
		}
	}
}

// describe shows the Length-Prefixed-Message at the start of a DATA frame:
// the flag, the 4-byte length and the protobuf bytes, decoded when the
// method's message type is known.
func (w *wire) describe(f h2tap.Frame) []string {
	d := f.Data
	if len(d) < 5 {
		return nil
	}
	n := binary.BigEndian.Uint32(d[1:5])
	body := d[5:]
	more := ""
	if uint32(len(body)) > n {
		body = body[:n]
	} else if uint32(len(body)) < n {
		more = " ..."
	}
	lines := []string{fmt.Sprintf("%02x | %s | %s%s   (flag %d, length %d)",
		d[0], spaced(d[1:5]), spaced(body), more, d[0], n)}
	w.mu.Lock()
	method := w.methods[f.StreamID()]
	w.mu.Unlock()
	if more == "" && (strings.HasSuffix(method, "/createTodo") ||
		strings.HasSuffix(method, "/readTodosStream") && f.Dir == h2tap.ServerToClient) {
		var it TodoItem
		if err := it.Unmarshal(body); err == nil {
			lines = append(lines, "TodoItem "+it.String())
		}
	}
	return lines
}

func spaced(b []byte) string {
	s := hex.EncodeToString(b)
	var sb strings.Builder
	for i := 0; i < len(s); i += 2 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(s[i : i+2])
	}
	return sb.String()
}

// isReset reports an RST_STREAM from the client on a call's stream.
func isReset(f h2tap.Frame) bool {
	return f.Dir == h2tap.ClientToServer && f.Type() == http2.FrameRSTStream
}
