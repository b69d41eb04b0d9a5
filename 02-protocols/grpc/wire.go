package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/net/http2"

	"backend-protocols/02-protocols/http2/h2tap"
	"backend-protocols/internal/timeline"
)

// wire records a connection through the frame tap (h2tap.Recorder) and
// prints each DATA frame's gRPC message prefix, decoding the message
// when its method's type is known.
type wire struct {
	*h2tap.Recorder

	mu      sync.Mutex
	methods map[uint32]string // stream -> :path, from request headers
}

func newWire(tl *timeline.Timeline) *wire {
	w := &wire{methods: map[uint32]string{}}
	w.Recorder = h2tap.NewRecorder(&h2tap.Printer{TL: tl, Data: w.describe})
	return w
}

func (w *wire) onFrame(f h2tap.Frame) {
	if p, ok := f.Field(":path"); ok {
		w.mu.Lock()
		w.methods[f.StreamID()] = p
		w.mu.Unlock()
	}
	w.Recorder.OnFrame(f)
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
