package main

import (
	"fmt"
	"strings"
	"sync"

	"backend-protocols/02-protocols/http3/quic"
	"backend-protocols/internal/timeline"
)

// wireLog turns the packets each side sends into the timeline's Send
// events, so that the narrative lists every packet with its frames and
// the ladder shows the flights.
type wireLog struct {
	tl *timeline.Timeline

	mu     sync.Mutex
	ladder []timeline.Event // the same packets with short labels
	last   map[string]uint64
}

func newWireLog(tl *timeline.Timeline) *wireLog {
	return &wireLog{tl: tl, last: map[string]uint64{}}
}

// tracer returns a quic.Config.Trace function for one side.
func (w *wireLog) tracer(from, to string) func(quic.PacketEvent) {
	return func(e quic.PacketEvent) {
		if !e.Sent {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		// A packet coalesced into the datagram of the one before it is
		// marked with "+".
		plus := ""
		if w.last[from] == e.Datagram {
			plus = "+ "
		}
		w.last[from] = e.Datagram
		ev := w.tl.Send(from, to, "%s%s #%d %dB: %s", plus, e.Type, e.Number,
			e.Size, strings.Join(e.Frames, ", "))
		ev.Text = fmt.Sprintf("%s%s #%d %s", plus, e.Type, e.Number,
			shortFrames(e.Frames))
		w.ladder = append(w.ladder, ev)
	}
}

// shortFrames names the frames of a packet once each, in order.
func shortFrames(frames []string) string {
	var names []string
	seen := map[string]bool{}
	for _, f := range frames {
		name, _, _ := strings.Cut(f, " ")
		if name == "PADDING" || seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	return strings.Join(names, " ")
}

// events returns the short-label events recorded so far.
func (w *wireLog) events() []timeline.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]timeline.Event(nil), w.ladder...)
}

// flightsUntil returns the flights up to and including the first one in
// which match holds for a packet.
func flightsUntil(fl []timeline.Flight, match func(timeline.Event) bool) []timeline.Flight {
	for i, f := range fl {
		for _, m := range f.Messages {
			if match(m) {
				return fl[:i+1]
			}
		}
	}
	return nil
}
