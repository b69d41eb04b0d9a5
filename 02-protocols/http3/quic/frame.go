package quic

import (
	"errors"
	"fmt"
	"strings"
)

// Frame types (RFC 9000, Section 19 and Table 3).
const (
	frameTypePadding            = 0x00
	frameTypePing               = 0x01
	frameTypeAck                = 0x02
	frameTypeAckECN             = 0x03
	frameTypeResetStream        = 0x04
	frameTypeStopSending        = 0x05
	frameTypeCrypto             = 0x06
	frameTypeNewToken           = 0x07
	frameTypeStream             = 0x08 // 0x08..0x0f: OFF=0x04 LEN=0x02 FIN=0x01
	frameTypeMaxData            = 0x10
	frameTypeMaxStreamData      = 0x11
	frameTypeMaxStreamsBidi     = 0x12
	frameTypeMaxStreamsUni      = 0x13
	frameTypeDataBlocked        = 0x14
	frameTypeStreamDataBlocked  = 0x15
	frameTypeStreamsBlockedBidi = 0x16
	frameTypeStreamsBlockedUni  = 0x17
	frameTypeNewConnectionID    = 0x18
	frameTypeRetireConnectionID = 0x19
	frameTypePathChallenge      = 0x1a
	frameTypePathResponse       = 0x1b
	frameTypeConnCloseTransport = 0x1c
	frameTypeConnCloseApp       = 0x1d
	frameTypeHandshakeDone      = 0x1e
)

// maxStreams is the largest stream count a MAX_STREAMS or
// STREAMS_BLOCKED frame may carry: 2^60 (RFC 9000, Section 19.11).
const maxStreams = 1 << 60

// maxAckRanges bounds the ACK ranges one frame may carry; a peer has no
// reason to send more, and the bound keeps an ACK frame's cost fixed.
const maxAckRanges = 256

// frame is one decoded frame. Only the fields of its type are set; the
// value is reused from frame to frame so that decoding allocates nothing.
type frame struct {
	typ uint64

	// STREAM, CRYPTO: data at offset; STREAM: fin. NEW_TOKEN: data.
	// CONNECTION_CLOSE: data is the reason phrase.
	streamID uint64
	offset   uint64
	data     []byte
	fin      bool

	// RESET_STREAM, STOP_SENDING, CONNECTION_CLOSE: code.
	code uint64
	// MAX_*, *_BLOCKED: the limit. RESET_STREAM: the final size.
	// NEW_CONNECTION_ID, RETIRE_CONNECTION_ID: the sequence number.
	value uint64

	// CONNECTION_CLOSE (0x1c): the frame type that caused it.
	frameType uint64

	// NEW_CONNECTION_ID.
	retirePriorTo uint64
	connID        []byte
	resetToken    [16]byte

	// PATH_CHALLENGE, PATH_RESPONSE.
	pathData [8]byte

	// ACK: ranges in descending order, largest first.
	ackRanges []ackRange
	ackDelay  uint64 // encoded, before the exponent is applied
}

// ackRange is an inclusive range of acknowledged packet numbers.
type ackRange struct{ smallest, largest uint64 }

func isStreamFrame(typ uint64) bool { return typ&^7 == frameTypeStream }

// errFrame reports a malformed frame: FRAME_ENCODING_ERROR.
func errFrame(typ uint64, what string) error {
	return frameError(FrameEncodingError, typ, "%s frame: %s",
		frameName(typ), what)
}

// parseFrame decodes the frame at the start of b into f and returns the
// number of bytes it used. A malformed frame returns a *TransportError
// with FRAME_ENCODING_ERROR; an unknown frame type is also a
// FRAME_ENCODING_ERROR (RFC 9000, Section 12.4). Data fields point into
// b; nothing is copied.
func parseFrame(b []byte, f *frame) (int, error) {
	r := reader{b: b}
	typ := r.varint()
	if r.err != nil {
		return 0, errFrame(0, "truncated type")
	}
	ranges := f.ackRanges[:0]
	*f = frame{typ: typ, ackRanges: ranges}
	switch {
	case typ == frameTypePadding:
		// Consume the whole run of padding at once.
		n := 1
		for n < len(b) && b[n] == 0 {
			n++
		}
		return n, nil
	case typ == frameTypePing, typ == frameTypeHandshakeDone:
	case typ == frameTypeAck || typ == frameTypeAckECN:
		if err := parseAck(&r, f); err != nil {
			return 0, err
		}
	case typ == frameTypeResetStream:
		f.streamID = r.varint()
		f.code = r.varint()
		f.value = r.varint()
	case typ == frameTypeStopSending:
		f.streamID = r.varint()
		f.code = r.varint()
	case typ == frameTypeCrypto:
		f.offset = r.varint()
		f.data = r.bytes(r.varint())
		if r.err == nil && f.offset+uint64(len(f.data)) > MaxVarint {
			return 0, errFrame(typ, "offset past 2^62-1")
		}
	case typ == frameTypeNewToken:
		f.data = r.bytes(r.varint())
		if r.err == nil && len(f.data) == 0 {
			return 0, errFrame(typ, "empty token")
		}
	case isStreamFrame(typ):
		f.streamID = r.varint()
		if typ&0x04 != 0 {
			f.offset = r.varint()
		}
		if typ&0x02 != 0 {
			f.data = r.bytes(r.varint())
		} else {
			f.data = r.bytes(uint64(len(r.b)))
		}
		f.fin = typ&0x01 != 0
		if r.err == nil && f.offset+uint64(len(f.data)) > MaxVarint {
			return 0, errFrame(typ, "offset past 2^62-1")
		}
	case typ == frameTypeMaxData, typ == frameTypeDataBlocked:
		f.value = r.varint()
	case typ == frameTypeMaxStreamData, typ == frameTypeStreamDataBlocked:
		f.streamID = r.varint()
		f.value = r.varint()
	case typ >= frameTypeMaxStreamsBidi && typ <= frameTypeMaxStreamsUni,
		typ >= frameTypeStreamsBlockedBidi && typ <= frameTypeStreamsBlockedUni:
		f.value = r.varint()
		if r.err == nil && f.value > maxStreams {
			return 0, errFrame(typ, "stream count above 2^60")
		}
	case typ == frameTypeNewConnectionID:
		f.value = r.varint()
		f.retirePriorTo = r.varint()
		n := r.byte()
		f.connID = r.bytes(uint64(n))
		copy(f.resetToken[:], r.bytes(16))
		if r.err == nil && (n < 1 || n > MaxConnIDLen) {
			return 0, errFrame(typ, "connection id length not in 1..20")
		}
		if r.err == nil && f.retirePriorTo > f.value {
			return 0, errFrame(typ, "retire prior to above sequence number")
		}
	case typ == frameTypeRetireConnectionID:
		f.value = r.varint()
	case typ == frameTypePathChallenge, typ == frameTypePathResponse:
		copy(f.pathData[:], r.bytes(8))
	case typ == frameTypeConnCloseTransport, typ == frameTypeConnCloseApp:
		f.code = r.varint()
		if typ == frameTypeConnCloseTransport {
			f.frameType = r.varint()
		}
		f.data = r.bytes(r.varint())
	default:
		return 0, frameError(FrameEncodingError, typ,
			"unknown frame type %#x", typ)
	}
	if r.err != nil {
		return 0, errFrame(typ, r.err.Error())
	}
	return len(b) - len(r.b), nil
}

// parseAck decodes the body of an ACK frame (RFC 9000, Section 19.3).
func parseAck(r *reader, f *frame) error {
	largest := r.varint()
	f.ackDelay = r.varint()
	count := r.varint()
	first := r.varint()
	if r.err != nil {
		return errFrame(f.typ, r.err.Error())
	}
	if first > largest {
		return errFrame(f.typ, "first range below packet 0")
	}
	if count > maxAckRanges {
		return errFrame(f.typ, "too many ranges")
	}
	f.ackRanges = append(f.ackRanges, ackRange{largest - first, largest})
	smallest := largest - first
	for range count {
		gap := r.varint()
		length := r.varint()
		if r.err != nil {
			return errFrame(f.typ, r.err.Error())
		}
		// largest = previous_smallest - gap - 2
		if gap+2 > smallest || length > smallest-gap-2 {
			return errFrame(f.typ, "range below packet 0")
		}
		hi := smallest - gap - 2
		smallest = hi - length
		f.ackRanges = append(f.ackRanges, ackRange{smallest, hi})
	}
	if f.typ == frameTypeAckECN {
		r.varint()
		r.varint()
		r.varint()
	}
	return nil
}

// appendAck appends an ACK frame for ranges (descending, largest first,
// non-empty), with the delay already divided by 2^ack_delay_exponent.
// At most maxRanges ranges are written; the oldest are left out.
func appendAck(b []byte, ranges []ackRange, delay uint64, maxRanges int) []byte {
	ranges = ranges[:min(len(ranges), maxRanges)]
	b = append(b, frameTypeAck)
	b = AppendVarint(b, ranges[0].largest)
	b = AppendVarint(b, delay)
	b = AppendVarint(b, uint64(len(ranges)-1))
	b = AppendVarint(b, ranges[0].largest-ranges[0].smallest)
	prev := ranges[0].smallest
	for _, rg := range ranges[1:] {
		b = AppendVarint(b, prev-rg.largest-2)
		b = AppendVarint(b, rg.largest-rg.smallest)
		prev = rg.smallest
	}
	return b
}

// streamFrameOverhead is the most a STREAM frame header can take: type,
// id, offset and length.
const streamFrameOverhead = 1 + 8 + 8 + 2

// appendStreamHeader appends a STREAM frame header for n bytes of data at
// off. With last set the frame runs to the end of the packet and carries
// no Length field.
func appendStreamHeader(b []byte, id, off uint64, n int, fin, last bool) []byte {
	typ := byte(frameTypeStream)
	if off > 0 {
		typ |= 0x04
	}
	if !last {
		typ |= 0x02
	}
	if fin {
		typ |= 0x01
	}
	b = append(b, typ)
	b = AppendVarint(b, id)
	if off > 0 {
		b = AppendVarint(b, off)
	}
	if !last {
		b = AppendVarint(b, uint64(n))
	}
	return b
}

func appendCryptoHeader(b []byte, off uint64, n int) []byte {
	b = append(b, frameTypeCrypto)
	b = AppendVarint(b, off)
	return AppendVarint(b, uint64(n))
}

// appendFrame2 appends a frame made of its type and two varints.
func appendFrame2(b []byte, typ, a, c uint64) []byte {
	b = AppendVarint(b, typ)
	b = AppendVarint(b, a)
	return AppendVarint(b, c)
}

// appendFrame1 appends a frame made of its type and one varint.
func appendFrame1(b []byte, typ, a uint64) []byte {
	b = AppendVarint(b, typ)
	return AppendVarint(b, a)
}

func appendResetStream(b []byte, id, code, finalSize uint64) []byte {
	b = appendFrame2(b, frameTypeResetStream, id, code)
	return AppendVarint(b, finalSize)
}

func appendNewConnectionID(b []byte, seq, retirePriorTo uint64, id []byte,
	token [16]byte) []byte {
	b = appendFrame2(b, frameTypeNewConnectionID, seq, retirePriorTo)
	b = append(b, byte(len(id)))
	b = append(b, id...)
	return append(b, token[:]...)
}

func appendPath(b []byte, typ uint64, data [8]byte) []byte {
	b = append(b, byte(typ))
	return append(b, data[:]...)
}

// maxReasonLen bounds the reason phrase this endpoint sends, so a
// CONNECTION_CLOSE always fits a packet.
const maxReasonLen = 256

// appendConnectionClose appends CONNECTION_CLOSE: of type 0x1d when app
// is set (an application error code), otherwise 0x1c with the frame type
// that caused the error.
func appendConnectionClose(b []byte, app bool, code, frameType uint64,
	reason string) []byte {
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	if app {
		b = appendFrame1(b, frameTypeConnCloseApp, code)
	} else {
		b = appendFrame2(b, frameTypeConnCloseTransport, code, frameType)
	}
	b = AppendVarint(b, uint64(len(reason)))
	return append(b, reason...)
}

// allowedIn reports whether a frame type may appear in a packet type
// (RFC 9000, Section 12.4, Table 3). Initial and Handshake packets carry
// only PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE (0x1c); 0-RTT
// packets carry no ACK, CRYPTO, NEW_TOKEN, HANDSHAKE_DONE, PATH_RESPONSE
// or RETIRE_CONNECTION_ID.
func allowedIn(typ uint64, pt PacketType) bool {
	switch pt {
	case PacketInitial, PacketHandshake:
		switch typ {
		case frameTypePadding, frameTypePing, frameTypeAck, frameTypeAckECN,
			frameTypeCrypto, frameTypeConnCloseTransport:
			return true
		}
		return false
	case Packet0RTT:
		switch typ {
		case frameTypeAck, frameTypeAckECN, frameTypeCrypto,
			frameTypeNewToken, frameTypeHandshakeDone,
			frameTypePathResponse, frameTypeRetireConnectionID:
			return false
		}
	}
	return true
}

// ackEliciting reports whether a frame type makes its packet
// ack-eliciting: everything except ACK, PADDING and CONNECTION_CLOSE
// (RFC 9002, Section 2).
func ackEliciting(typ uint64) bool {
	switch typ {
	case frameTypeAck, frameTypeAckECN, frameTypePadding,
		frameTypeConnCloseTransport, frameTypeConnCloseApp:
		return false
	}
	return true
}

var frameNames = map[uint64]string{
	frameTypePadding: "PADDING", frameTypePing: "PING", frameTypeAck: "ACK",
	frameTypeAckECN: "ACK", frameTypeResetStream: "RESET_STREAM",
	frameTypeStopSending: "STOP_SENDING", frameTypeCrypto: "CRYPTO",
	frameTypeNewToken: "NEW_TOKEN", frameTypeMaxData: "MAX_DATA",
	frameTypeMaxStreamData:      "MAX_STREAM_DATA",
	frameTypeMaxStreamsBidi:     "MAX_STREAMS",
	frameTypeMaxStreamsUni:      "MAX_STREAMS",
	frameTypeDataBlocked:        "DATA_BLOCKED",
	frameTypeStreamDataBlocked:  "STREAM_DATA_BLOCKED",
	frameTypeStreamsBlockedBidi: "STREAMS_BLOCKED",
	frameTypeStreamsBlockedUni:  "STREAMS_BLOCKED",
	frameTypeNewConnectionID:    "NEW_CONNECTION_ID",
	frameTypeRetireConnectionID: "RETIRE_CONNECTION_ID",
	frameTypePathChallenge:      "PATH_CHALLENGE",
	frameTypePathResponse:       "PATH_RESPONSE",
	frameTypeConnCloseTransport: "CONNECTION_CLOSE",
	frameTypeConnCloseApp:       "CONNECTION_CLOSE",
	frameTypeHandshakeDone:      "HANDSHAKE_DONE",
}

func frameName(typ uint64) string {
	if isStreamFrame(typ) {
		return "STREAM"
	}
	if n, ok := frameNames[typ]; ok {
		return n
	}
	return fmt.Sprintf("frame(%#x)", typ)
}

// String describes the frame briefly, for the packet trace.
func (f *frame) String() string {
	name := frameName(f.typ)
	switch {
	case isStreamFrame(f.typ):
		s := fmt.Sprintf("STREAM id=%d off=%d len=%d", f.streamID, f.offset,
			len(f.data))
		if f.fin {
			s += " fin"
		}
		return s
	case f.typ == frameTypeCrypto:
		return fmt.Sprintf("CRYPTO off=%d len=%d", f.offset, len(f.data))
	case f.typ == frameTypeAck || f.typ == frameTypeAckECN:
		var sb strings.Builder
		sb.WriteString("ACK ")
		for i, r := range f.ackRanges {
			if i > 0 {
				sb.WriteByte(',')
			}
			if r.smallest == r.largest {
				fmt.Fprintf(&sb, "%d", r.largest)
			} else {
				fmt.Fprintf(&sb, "%d-%d", r.smallest, r.largest)
			}
		}
		return sb.String()
	case f.typ == frameTypeMaxData, f.typ == frameTypeDataBlocked,
		f.typ >= frameTypeMaxStreamsBidi && f.typ <= frameTypeMaxStreamsUni,
		f.typ >= frameTypeStreamsBlockedBidi && f.typ <= frameTypeStreamsBlockedUni:
		return fmt.Sprintf("%s %d", name, f.value)
	case f.typ == frameTypeMaxStreamData, f.typ == frameTypeStreamDataBlocked:
		return fmt.Sprintf("%s id=%d %d", name, f.streamID, f.value)
	case f.typ == frameTypeResetStream, f.typ == frameTypeStopSending:
		return fmt.Sprintf("%s id=%d code=%#x", name, f.streamID, f.code)
	case f.typ == frameTypeNewConnectionID, f.typ == frameTypeRetireConnectionID:
		return fmt.Sprintf("%s seq=%d", name, f.value)
	case f.typ == frameTypeConnCloseTransport:
		return fmt.Sprintf("%s %v", name, TransportErrorCode(f.code))
	case f.typ == frameTypeConnCloseApp:
		return fmt.Sprintf("%s app=%#x", name, f.code)
	}
	return name
}

// describeFrames lists the frames of a decrypted payload, for traces.
func describeFrames(payload []byte) []string {
	var out []string
	var f frame
	pad := 0
	for len(payload) > 0 {
		n, err := parseFrame(payload, &f)
		if err != nil {
			return append(out, "malformed")
		}
		payload = payload[n:]
		if f.typ == frameTypePadding {
			pad += n
			continue
		}
		out = append(out, f.String())
	}
	if pad > 0 {
		out = append(out, fmt.Sprintf("PADDING %d", pad))
	}
	return out
}

var errNoFrames = errors.New("quic: packet without frames")
