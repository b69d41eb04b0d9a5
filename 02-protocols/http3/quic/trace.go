package quic

import (
	"fmt"
	"strings"
	"time"
)

// PacketEvent describes one packet this endpoint sent or received, for
// Config.Trace: the demo draws its flight ladder from these.
type PacketEvent struct {
	Time     time.Time
	Sent     bool   // false for a received packet
	Datagram uint64 // number of the datagram, from 1, per direction
	// DatagramSize is the size of the whole UDP payload the packet
	// travelled in, shared by coalesced packets.
	DatagramSize int
	Type         PacketType
	Number       uint64   // packet number
	Size         int      // bytes of this packet on the wire
	Frames       []string // one short description per frame
}

// String formats the event on one line, for example
// "Initial #0 1200B: CRYPTO off=0 len=1167, PADDING 12".
func (e PacketEvent) String() string {
	return fmt.Sprintf("%s #%d %dB: %s", e.Type, e.Number, e.Size,
		strings.Join(e.Frames, ", "))
}

// trace reports a packet to the configured tracer, if any.
func (c *Conn) trace(sent bool, dg uint64, dgSize int, pt PacketType,
	pn uint64, size int, payload []byte) {
	if c.config.Trace == nil {
		return
	}
	c.config.Trace(PacketEvent{Time: time.Now(), Sent: sent, Datagram: dg,
		DatagramSize: dgSize, Type: pt, Number: pn, Size: size,
		Frames: describeFrames(payload)})
}
