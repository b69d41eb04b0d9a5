package grpcwire

import (
	"encoding/binary"
	"errors"
	"io"
)

// Message is a protobuf message written by hand (see ../protowire):
// MarshalAppend appends its encoding, Unmarshal replaces its contents
// with a decoded one. Unmarshal must copy what it keeps: the buffer it is
// given is reused for the next message.
type Message interface {
	MarshalAppend(b []byte) []byte
	Unmarshal(b []byte) error
}

// prefixLen is the Length-Prefixed-Message header: a compressed flag
// byte and a 4-byte big-endian length.
const prefixLen = 5

// Default message size limits, as grpc-go's: 4 MiB received, and sent up
// to what the 32-bit length can say.
const (
	DefaultMaxRecvMsgSize = 4 << 20
	DefaultMaxSendMsgSize = 1<<31 - 1
)

// AppendFrame appends m as one Length-Prefixed-Message, uncompressed,
// and fails with RESOURCE_EXHAUSTED if it is larger than limit.
func AppendFrame(b []byte, m Message, limit int) ([]byte, error) {
	at := len(b)
	b = m.MarshalAppend(append(b, 0, 0, 0, 0, 0))
	n := len(b) - at - prefixLen
	if n > limit {
		return b[:at], Errorf(ResourceExhausted,
			"grpc: trying to send message larger than max (%d vs. %d)", n, limit)
	}
	binary.BigEndian.PutUint32(b[at+1:], uint32(n))
	return b, nil
}

// errCompressed: a message flagged compressed when no grpc-encoding was
// agreed, which this engine never does.
var errCompressed = errors.New("compressed message but no grpc-encoding")

// ReadFrame reads one Length-Prefixed-Message from r into buf (grown as
// needed) and returns the message's bytes. At a clean end between
// messages it returns io.EOF. A message cut short is INTERNAL, one over
// limit RESOURCE_EXHAUSTED (and is not read), and a compressed flag
// (this engine negotiates no compression) INTERNAL.
func ReadFrame(r io.Reader, buf []byte, limit int) ([]byte, error) {
	var hdr [prefixLen]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return nil, Errorf(Internal, "grpc: stream ended after %d bytes of a message header", n)
		}
		return nil, err
	}
	switch hdr[0] {
	case 0:
	case 1:
		return nil, Errorf(Internal, "grpc: %v", errCompressed)
	default:
		return nil, Errorf(Internal, "grpc: invalid compressed flag %d", hdr[0])
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if uint64(n) > uint64(limit) {
		return nil, Errorf(ResourceExhausted,
			"grpc: received message larger than max (%d vs. %d)", n, limit)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if got, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, Errorf(Internal, "grpc: stream ended %d bytes into a %d-byte message", got, n)
		}
		return nil, err
	}
	return buf, nil
}

// decode unmarshals a received message; a failure is INTERNAL, as
// statuscodes.md says for "error parsing" on either side.
func decode(b []byte, m Message, what string) error {
	if err := m.Unmarshal(b); err != nil {
		return Errorf(Internal, "grpc: failed to unmarshal the %s: %v", what, err)
	}
	return nil
}
