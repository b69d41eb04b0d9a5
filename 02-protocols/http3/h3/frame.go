package h3

import (
	"bufio"
	"errors"
	"io"

	"backend-protocols/02-protocols/http3/quic"
)

// HTTP/3 frame types (RFC 9114, Section 7.2).
const (
	frameData        = 0x00
	frameHeaders     = 0x01
	frameCancelPush  = 0x03
	frameSettings    = 0x04
	framePushPromise = 0x05
	frameGoaway      = 0x07
	frameMaxPushID   = 0x0d
)

// isHTTP2Frame reports frame types that exist in HTTP/2 but not HTTP/3:
// receiving one is H3_FRAME_UNEXPECTED (Section 7.2.8).
func isHTTP2Frame(t uint64) bool {
	return t == 0x02 || t == 0x06 || t == 0x08 || t == 0x09
}

// isReserved reports the reserved "grease" types 0x1f*N+0x21, used for
// frame types, settings, stream types and error codes alike; a receiver
// ignores them (Sections 7.2.8, 7.2.4.1, 6.2.3).
func isReserved(t uint64) bool { return t >= 0x21 && (t-0x21)%0x1f == 0 }

// Settings identifiers (RFC 9114, Section 7.2.4.1; RFC 9204, Section 5).
const (
	settingQPACKMaxTableCapacity = 0x01
	settingMaxFieldSectionSize   = 0x06
	settingQPACKBlockedStreams   = 0x07
)

// Unidirectional stream types (RFC 9114, Section 6.2; RFC 9204,
// Section 4.2).
const (
	streamControl      = 0x00
	streamPush         = 0x01
	streamQPACKEncoder = 0x02
	streamQPACKDecoder = 0x03
)

// maxControlFrame bounds frames on the control stream other than DATA.
const maxControlFrame = 16 << 10

// settings are the values a peer declared in its SETTINGS frame.
type settings struct {
	maxFieldSectionSize uint64 // 0: unlimited
	qpackMaxTable       uint64
	qpackBlocked        uint64
}

// appendFrame appends a frame: type, length, payload.
//
//	HTTP/3 Frame Format {
//	  Type (i),
//	  Length (i),
//	  Frame Payload (..),
//	}
func appendFrame(b []byte, typ uint64, payload []byte) []byte {
	b = quic.AppendVarint(b, typ)
	b = quic.AppendVarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// appendSettings appends this endpoint's SETTINGS frame: the QPACK
// dynamic table stays at capacity 0 (the default, sent explicitly), the
// field section limit is max, and one reserved setting keeps peers
// honest about ignoring unknown ones.
func appendSettings(b []byte, max uint64, grease uint64) []byte {
	var p []byte
	p = quic.AppendVarint(p, settingQPACKMaxTableCapacity)
	p = quic.AppendVarint(p, 0)
	p = quic.AppendVarint(p, settingQPACKBlockedStreams)
	p = quic.AppendVarint(p, 0)
	p = quic.AppendVarint(p, settingMaxFieldSectionSize)
	p = quic.AppendVarint(p, max)
	p = quic.AppendVarint(p, 0x1f*grease+0x21)
	p = quic.AppendVarint(p, grease)
	return appendFrame(b, frameSettings, p)
}

// parseSettings decodes a SETTINGS payload (Section 7.2.4). A repeated
// identifier or an HTTP/2 setting is H3_SETTINGS_ERROR; unknown ones are
// ignored.
func parseSettings(p []byte) (settings, error) {
	var s settings
	seen := map[uint64]bool{}
	for len(p) > 0 {
		id, n := quic.ConsumeVarint(p)
		if n < 0 {
			return s, errorf(ErrCodeFrameError, "truncated SETTINGS")
		}
		p = p[n:]
		v, n := quic.ConsumeVarint(p)
		if n < 0 {
			return s, errorf(ErrCodeFrameError, "truncated SETTINGS")
		}
		p = p[n:]
		if seen[id] {
			return s, errorf(ErrCodeSettingsError, "setting %#x repeated", id)
		}
		if len(seen) > 64 {
			return s, errorf(ErrCodeExcessiveLoad, "too many settings")
		}
		seen[id] = true
		switch id {
		case 0x02, 0x03, 0x04, 0x05:
			return s, errorf(ErrCodeSettingsError, "HTTP/2 setting %#x", id)
		case settingQPACKMaxTableCapacity:
			s.qpackMaxTable = v
		case settingMaxFieldSectionSize:
			s.maxFieldSectionSize = v
		case settingQPACKBlockedStreams:
			s.qpackBlocked = v
		}
	}
	return s, nil
}

// frameReader reads HTTP/3 frames from a stream.
type frameReader struct {
	r *bufio.Reader
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 4096)}
}

// readVarint reads one variable-length integer. atStart says no byte of
// the frame was read yet, where EOF is a clean end.
func (fr *frameReader) readVarint(atStart bool) (uint64, error) {
	c, err := fr.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) && !atStart {
			return 0, errorf(ErrCodeFrameError, "stream ends inside a frame")
		}
		return 0, err
	}
	n := 1 << (c >> 6)
	v := uint64(c & 0x3f)
	for i := 1; i < n; i++ {
		c, err = fr.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, errorf(ErrCodeFrameError, "stream ends inside a frame")
			}
			return 0, err
		}
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// next reads a frame header. At a clean end of stream it returns io.EOF.
func (fr *frameReader) next() (typ, length uint64, err error) {
	typ, err = fr.readVarint(true)
	if err != nil {
		return 0, 0, err
	}
	length, err = fr.readVarint(false)
	return typ, length, err
}

// payload reads a whole frame payload, refusing ones above max.
func (fr *frameReader) payload(length, max uint64) ([]byte, error) {
	if length > max {
		return nil, errorf(ErrCodeExcessiveLoad, "frame of %d bytes, limit %d",
			length, max)
	}
	b := make([]byte, length)
	if _, err := io.ReadFull(fr.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errorf(ErrCodeFrameError, "stream ends inside a frame")
		}
		return nil, err
	}
	return b, nil
}

// skip discards a frame payload of an ignored type.
func (fr *frameReader) skip(length uint64) error {
	n, err := io.CopyN(io.Discard, fr.r, int64(min(length, 1<<62)))
	if uint64(n) < length {
		if err == nil || errors.Is(err, io.EOF) {
			return errorf(ErrCodeFrameError, "stream ends inside a frame")
		}
		return err
	}
	return nil
}
