package kv

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Header is the fixed part of a binary frame. Its layout is the same in
// every version.
type Header struct {
	Version uint8
	Type    Type
	Status  Status
	ID      uint32
	Length  uint32 // body length
}

// ParseHeader decodes the first HeaderLen bytes of b. It checks only what
// framing needs: that the body length is within MaxBody. A version it does
// not speak is not an error here, so that a reader can skip the body and
// answer.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("%w: %d of %d header bytes", ErrShort,
			len(b), HeaderLen)
	}
	h := Header{Version: b[0], Type: Type(b[1]), Status: Status(b[2]),
		ID:     binary.BigEndian.Uint32(b[4:]),
		Length: binary.BigEndian.Uint32(b[8:])}
	if h.Length > MaxBody {
		return h, fmt.Errorf("%w: body of %d bytes, limit %d", ErrTooLarge,
			h.Length, MaxBody)
	}
	return h, nil
}

// FrameLen reports how long the frame at the start of b is, header
// included, once b holds at least a header; with fewer bytes it returns
// ErrShort. A stream reader uses it to learn how many bytes to wait for.
func FrameLen(b []byte) (int, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return 0, err
	}
	return HeaderLen + int(h.Length), nil
}

// BinaryLen returns the size of m's binary frame.
func (m *Message) BinaryLen() int {
	n := HeaderLen + 2 + len(m.Key) + len(m.Value)
	if m.hasTTL() {
		n += 4
	}
	return n
}

// AppendBinary appends m's binary frame to b. It refuses a message the
// decoder would reject.
func (m *Message) AppendBinary(b []byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return b, err
	}
	body := m.BinaryLen() - HeaderLen
	b = append(b, m.Version, byte(m.Type), byte(m.Status), 0)
	b = binary.BigEndian.AppendUint32(b, m.ID)
	b = binary.BigEndian.AppendUint32(b, uint32(body))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Key)))
	b = append(b, m.Key...)
	if m.hasTTL() {
		b = binary.BigEndian.AppendUint32(b, uint32(m.TTL/time.Millisecond))
	}
	return append(b, m.Value...), nil
}

// MarshalBinary returns m's binary frame.
func (m *Message) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, m.BinaryLen()))
}

// Decode decodes the frame at the start of b and returns the message and
// the number of bytes it used. It returns ErrShort while b holds less than
// a whole frame, and then the int is how many bytes the frame needs in all
// (HeaderLen while the header itself is incomplete).
//
// A *FrameError means the frame was whole but its content is bad: n is
// still its length, so a server can skip it and answer the id inside.
// Any other error but ErrShort means framing is lost. The message's Value
// aliases b.
func Decode(b []byte) (Message, int, error) {
	h, err := ParseHeader(b)
	if err != nil {
		if len(b) < HeaderLen {
			return Message{}, HeaderLen, err
		}
		return Message{}, 0, err
	}
	n := HeaderLen + int(h.Length)
	if len(b) < n {
		return Message{}, n, fmt.Errorf("%w: %d of %d bytes", ErrShort, len(b), n)
	}
	m, err := decodeBody(h, b[HeaderLen:n])
	if err != nil {
		return Message{}, n, &FrameError{Header: h, Err: err}
	}
	return m, n, nil
}

// FrameError reports a whole frame whose content could not be decoded.
// The stream around it is intact: the next frame starts right after it.
type FrameError struct {
	Header Header // as received
	Err    error  // wraps ErrVersion, ErrMalformed or ErrTooLarge
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("frame id=%d: %v", e.Header.ID, e.Err)
}

func (e *FrameError) Unwrap() error { return e.Err }

// decodeBody decodes a body whose length the header has already bounded.
func decodeBody(h Header, body []byte) (Message, error) {
	m := Message{Version: h.Version, Type: h.Type, Status: h.Status, ID: h.ID}
	if h.Version < Version1 || h.Version > MaxVersion {
		return m, fmt.Errorf("%w: %d (this side speaks %d to %d)", ErrVersion,
			h.Version, Version1, MaxVersion)
	}
	if !typeOK(h.Type, h.Status) {
		return m, fmt.Errorf("%w: unknown %v", ErrMalformed, h.Type)
	}
	if h.Status >= statusEnd || (!h.Type.IsReply() && h.Status != StatusOK) {
		return m, fmt.Errorf("%w: %v in a %v", ErrMalformed, h.Status, h.Type)
	}
	if len(body) < 2 {
		return m, fmt.Errorf("%w: body of %d bytes has no key length",
			ErrMalformed, len(body))
	}
	klen := int(binary.BigEndian.Uint16(body))
	body = body[2:]
	if klen > MaxKey {
		return m, fmt.Errorf("%w: key of %d bytes, limit %d", ErrTooLarge, klen, MaxKey)
	}
	if klen > len(body) {
		return m, fmt.Errorf("%w: key of %d bytes in %d", ErrMalformed, klen, len(body))
	}
	m.Key, body = string(body[:klen]), body[klen:]
	if m.hasTTL() {
		if len(body) < 4 {
			return m, fmt.Errorf("%w: v2 set without its ttl", ErrMalformed)
		}
		m.TTL = time.Duration(binary.BigEndian.Uint32(body)) * time.Millisecond
		body = body[4:]
	}
	if len(body) > MaxValue {
		return m, fmt.Errorf("%w: value of %d bytes, limit %d", ErrTooLarge,
			len(body), MaxValue)
	}
	if len(body) > 0 {
		m.Value = body
	}
	return m, nil
}
