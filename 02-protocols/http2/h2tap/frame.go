package h2tap

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Direction says which way a frame crossed the tap.
type Direction int

const (
	// ClientToServer is a frame the client sent.
	ClientToServer Direction = iota
	// ServerToClient is a frame the server sent.
	ServerToClient
)

func (d Direction) String() string {
	if d == ClientToServer {
		return "client -> server"
	}
	return "server -> client"
}

// Frame is one HTTP/2 frame seen on the wire, decoded. Only the fields
// that belong to its type are set.
type Frame struct {
	Conn int       // connection number within the tap, from 1
	Dir  Direction // who sent it
	At   time.Time // when the tap had read all of it

	// Preface is set for the client's 24-byte connection preface
	// (RFC 9113 section 3.4), which is not a frame; Header is zero then.
	Preface bool
	Header  http2.FrameHeader // type, flags, payload length, stream id

	// HEADERS, PUSH_PROMISE and CONTINUATION: Fields is the decoded header
	// list, set on the frame that ends the block (END_HEADERS); BlockLen
	// is the size of the whole HPACK block in bytes across its frames.
	Fields   []hpack.HeaderField
	BlockLen int
	// TableSizes lists the dynamic table size updates the block opened
	// with (RFC 7541 section 6.3): an encoder says so when the table it
	// may use changes.
	TableSizes []uint32

	Data      []byte              // DATA: the first bytes of the payload (Options.MaxData)
	DataLen   int                 // DATA: the payload length without padding
	Settings  []http2.Setting     // SETTINGS
	Increment uint32              // WINDOW_UPDATE
	ErrCode   http2.ErrCode       // RST_STREAM, GOAWAY
	LastID    uint32              // GOAWAY: the last stream the sender processed
	Debug     []byte              // GOAWAY: opaque debug data
	PingData  [8]byte             // PING
	PromiseID uint32              // PUSH_PROMISE
	Priority  http2.PriorityParam // PRIORITY, and HEADERS with the PRIORITY flag

	// Err is set when the bytes could not be decoded as a valid frame or
	// header block; the tap still forwards them unchanged.
	Err error
}

// Type is the frame's type (zero for the preface).
func (f Frame) Type() http2.FrameType { return f.Header.Type }

// StreamID is the stream the frame belongs to; 0 is the connection.
func (f Frame) StreamID() uint32 { return f.Header.StreamID }

// Has reports whether the frame carries flag (END_STREAM, ACK, ...).
func (f Frame) Has(flag http2.Flags) bool { return f.Header.Flags.Has(flag) }

// FieldBytes is what the header list weighs uncompressed, counted as
// SETTINGS_MAX_HEADER_LIST_SIZE counts it: name, value and 32 bytes of
// overhead per field (RFC 9113 section 6.5.2).
func (f Frame) FieldBytes() int {
	n := 0
	for _, hf := range f.Fields {
		n += int(hf.Size())
	}
	return n
}

// Field returns the value of the first header field called name.
func (f Frame) Field(name string) (string, bool) {
	for _, hf := range f.Fields {
		if hf.Name == name {
			return hf.Value, true
		}
	}
	return "", false
}

// flagNames lists the flags each frame type defines (RFC 9113 section 6).
var flagNames = map[http2.FrameType][]struct {
	f    http2.Flags
	name string
}{
	http2.FrameData: {{http2.FlagDataEndStream, "END_STREAM"},
		{http2.FlagDataPadded, "PADDED"}},
	http2.FrameHeaders: {{http2.FlagHeadersEndStream, "END_STREAM"},
		{http2.FlagHeadersEndHeaders, "END_HEADERS"},
		{http2.FlagHeadersPadded, "PADDED"},
		{http2.FlagHeadersPriority, "PRIORITY"}},
	http2.FrameSettings:     {{http2.FlagSettingsAck, "ACK"}},
	http2.FramePing:         {{http2.FlagPingAck, "ACK"}},
	http2.FrameContinuation: {{http2.FlagContinuationEndHeaders, "END_HEADERS"}},
	http2.FramePushPromise: {{http2.FlagPushPromiseEndHeaders, "END_HEADERS"},
		{http2.FlagPushPromisePadded, "PADDED"}},
}

// FlagString names the frame's flags, "END_STREAM|END_HEADERS", or "".
func (f Frame) FlagString() string {
	var names []string
	left := f.Header.Flags
	for _, fn := range flagNames[f.Header.Type] {
		if left.Has(fn.f) {
			names = append(names, fn.name)
			left &^= fn.f
		}
	}
	if left != 0 {
		names = append(names, fmt.Sprintf("0x%x", uint8(left)))
	}
	return strings.Join(names, "|")
}

// String formats the frame on one line, the way the demos print it:
//
//	HEADERS stream=1 END_STREAM|END_HEADERS hpack=31B :method=GET :path=/
//	DATA stream=1 len=12 END_STREAM "hello world\n"
func (f Frame) String() string {
	if f.Preface {
		s := "PREFACE " + fmt.Sprintf("%q", http2.ClientPreface)
		if f.Err != nil {
			s += " error: " + f.Err.Error()
		}
		return s
	}
	var sb strings.Builder
	h := f.Header
	fmt.Fprintf(&sb, "%v stream=%d", h.Type, h.StreamID)
	if fl := f.FlagString(); fl != "" {
		sb.WriteString(" " + fl)
	}
	switch h.Type {
	case http2.FrameData:
		fmt.Fprintf(&sb, " len=%d", f.DataLen)
		if len(f.Data) > 0 {
			fmt.Fprintf(&sb, " %q", f.Data)
			if len(f.Data) < f.DataLen {
				sb.WriteString("...")
			}
		}
	case http2.FrameHeaders, http2.FramePushPromise, http2.FrameContinuation:
		if h.Type == http2.FramePushPromise {
			fmt.Fprintf(&sb, " promised=%d", f.PromiseID)
		}
		if f.Fields != nil || f.BlockLen > 0 {
			fmt.Fprintf(&sb, " hpack=%dB", f.BlockLen)
		}
		for _, n := range f.TableSizes {
			fmt.Fprintf(&sb, " table-size=%d", n)
		}
		for _, hf := range f.Fields {
			fmt.Fprintf(&sb, " %s=%s", hf.Name, hf.Value)
		}
	case http2.FrameSettings:
		for _, s := range f.Settings {
			fmt.Fprintf(&sb, " %v=%d", s.ID, s.Val)
		}
	case http2.FrameWindowUpdate:
		fmt.Fprintf(&sb, " +%d", f.Increment)
	case http2.FrameRSTStream:
		fmt.Fprintf(&sb, " %v", f.ErrCode)
	case http2.FrameGoAway:
		fmt.Fprintf(&sb, " last=%d %v", f.LastID, f.ErrCode)
		if len(f.Debug) > 0 {
			fmt.Fprintf(&sb, " %q", f.Debug)
		}
	case http2.FramePing:
		sb.WriteString(" " + hex.EncodeToString(f.PingData[:]))
	case http2.FramePriority:
		fmt.Fprintf(&sb, " dep=%d weight=%d", f.Priority.StreamDep,
			int(f.Priority.Weight)+1)
	default:
		fmt.Fprintf(&sb, " len=%d", h.Length)
	}
	if f.Err != nil {
		sb.WriteString(" error: " + f.Err.Error())
	}
	return sb.String()
}
