package h2tap

import (
	"fmt"

	"golang.org/x/net/http2"

	"backend-protocols/internal/timeline"
)

// Printer prints frames on a demo's timeline: one Send line per frame
// ("client -> server  HEADERS stream=1 END_HEADERS ..."), with the fields
// of a header block one per line beneath it.
type Printer struct {
	TL             *timeline.Timeline
	Client, Server string // actor names; "client" and "server" if empty
	// Data, if set, returns lines to print under a DATA frame, such as
	// the gRPC message it carries.
	Data func(f Frame) []string
	// MaxValue shortens header values longer than this (0: 60 bytes).
	MaxValue int
}

// Actors names the sender and the receiver of f.
func (p *Printer) Actors(f Frame) (from, to string) {
	c, s := p.Client, p.Server
	if c == "" {
		c = "client"
	}
	if s == "" {
		s = "server"
	}
	if f.Dir == ClientToServer {
		return c, s
	}
	return s, c
}

// indent lines up detail lines under a Send line's text.
const indent = 32

// Print prints one frame.
func (p *Printer) Print(f Frame) {
	from, to := p.Actors(f)
	if f.Fields == nil {
		if p.Data == nil || f.Type() != http2.FrameData || f.Preface || f.Err != nil {
			p.TL.Send(from, to, "%s", f)
			return
		}
		// The payload is described below instead of quoted.
		bare := f
		bare.Data = nil
		p.TL.Send(from, to, "%s", bare)
		for _, l := range p.Data(f) {
			p.TL.Printf("%*s%s", indent, "", l)
		}
		return
	}
	line := fmt.Sprintf("%v stream=%d", f.Header.Type, f.StreamID())
	if fl := f.FlagString(); fl != "" {
		line += " " + fl
	}
	for _, n := range f.TableSizes {
		line += fmt.Sprintf(" table-size=%d", n)
	}
	p.TL.Send(from, to, "%s  (%d fields in %d bytes of HPACK)", line,
		len(f.Fields), f.BlockLen)
	limit := p.MaxValue
	if limit <= 0 {
		limit = 60
	}
	for _, hf := range f.Fields {
		v := hf.Value
		if len(v) > limit {
			v = v[:limit-3] + "..."
		}
		p.TL.Printf("%*s%s: %s", indent, "", hf.Name, v)
	}
}
