package main

import (
	"fmt"
	"strings"

	"golang.org/x/net/http2"

	"backend-protocols/02-protocols/http2/h2tap"
	"backend-protocols/internal/timeline"
)

// actors names the sender and receiver of a frame.
func actors(f h2tap.Frame) (from, to string) {
	return (&h2tap.Printer{}).Actors(f)
}

// short is a frame's label in a ladder diagram.
func short(f h2tap.Frame) string {
	if f.Preface {
		return "PREFACE"
	}
	s := fmt.Sprintf("%v", f.Header.Type)
	if f.StreamID() != 0 {
		s += fmt.Sprintf(" #%d", f.StreamID())
	}
	switch {
	case f.Has(http2.FlagSettingsAck) && (f.Type() == http2.FrameSettings ||
		f.Type() == http2.FramePing):
		s += " ACK"
	case f.Type() == http2.FrameHeaders:
		if v, ok := f.Field(":path"); ok {
			s += " " + v
		}
		if v, ok := f.Field(":status"); ok {
			s += " " + v
		}
	case f.Type() == http2.FrameData:
		s += fmt.Sprintf(" %dB", f.DataLen)
	case f.Type() == http2.FrameWindowUpdate:
		s += fmt.Sprintf(" +%d", f.Increment)
	}
	if f.Has(http2.FlagDataEndStream) && (f.Type() == http2.FrameData ||
		f.Type() == http2.FrameHeaders) {
		s += " END"
	}
	return s
}

// ladder draws frames as a ladder diagram between client and server.
func ladder(tl *timeline.Timeline, frames []h2tap.Frame) (flights, trips int) {
	var events []timeline.Event
	for _, f := range frames {
		from, to := actors(f)
		events = append(events, timeline.Event{At: f.At.Sub(tl.Start()),
			Kind: timeline.Send, From: from, To: to, Text: short(f)})
	}
	var sb strings.Builder
	timeline.Ladder(&sb, events, "client", "server")
	tl.Printf("%s", strings.TrimRight(sb.String(), "\n"))
	fl := timeline.Flights(events, "client", "server")
	return len(fl), timeline.RoundTrips(fl)
}

// of returns the frames of one type sent in one direction.
func of(frames []h2tap.Frame, dir h2tap.Direction, typ http2.FrameType) []h2tap.Frame {
	var out []h2tap.Frame
	for _, f := range frames {
		if !f.Preface && f.Dir == dir && f.Type() == typ {
			out = append(out, f)
		}
	}
	return out
}
