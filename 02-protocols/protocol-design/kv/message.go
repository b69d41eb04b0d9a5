package kv

import (
	"errors"
	"fmt"
	"time"
)

// Versions this package speaks.
const (
	Version1 = 1
	// Version2 adds a time-to-live to SET.
	Version2 = 2
	// MaxVersion is the highest version this package speaks.
	MaxVersion = Version2
)

// Limits every decoder enforces before it allocates.
const (
	HeaderLen = 12
	MaxKey    = 1024
	MaxValue  = 1 << 20
	// MaxBody is the largest body any version may carry: key length, key,
	// TTL and value.
	MaxBody = 2 + MaxKey + 4 + MaxValue
	// MaxTTL is the longest time-to-live a 32-bit millisecond field holds.
	MaxTTL = time.Duration(1<<32-1) * time.Millisecond
)

// Type says what a message asks for, or which request a reply answers.
type Type uint8

// Message types. A reply's type is its request's type with the high bit
// set.
const (
	Get    Type = 1
	Set    Type = 2
	Delete Type = 3

	replyBit Type = 0x80
)

// Reply returns the reply type for a request type.
func (t Type) Reply() Type { return t | replyBit }

// IsReply reports whether t is a reply type.
func (t Type) IsReply() bool { return t&replyBit != 0 }

// Request returns the request type a reply type answers.
func (t Type) Request() Type { return t &^ replyBit }

func (t Type) known() bool {
	switch t.Request() {
	case Get, Set, Delete:
		return true
	}
	return false
}

// typeOK reports whether a message may carry type t with status s. A reply
// refusing a request of a type this side does not know echoes that type:
// a later version's new request gets a clean answer from an old server.
func typeOK(t Type, s Status) bool {
	return t.known() || t.IsReply() && s != StatusOK
}

var typeNames = map[Type]string{Get: "get", Set: "set", Delete: "delete"}

func (t Type) String() string {
	name, ok := typeNames[t.Request()]
	if !ok {
		return fmt.Sprintf("type(%#x)", uint8(t))
	}
	if t.IsReply() {
		return name + "-reply"
	}
	return name
}

// Status is a reply's outcome; requests carry StatusOK.
type Status uint8

// Reply statuses.
const (
	StatusOK Status = iota
	StatusNotFound
	StatusBadRequest
	// StatusUnsupportedVersion answers a version the server does not speak;
	// the reply's Version is the highest one it does.
	StatusUnsupportedVersion
	// StatusFull refuses a SET when the store holds all it may.
	StatusFull
	statusEnd
)

var statusNames = [...]string{"ok", "not-found", "bad-request",
	"unsupported-version", "full"}

func (s Status) String() string {
	if s < statusEnd {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Message is one request or reply, in either encoding.
type Message struct {
	Version uint8
	Type    Type
	Status  Status
	ID      uint32
	Key     string
	// TTL, in version 2 SET requests only, is how long the value lives;
	// zero means forever. It travels in whole milliseconds.
	TTL   time.Duration
	Value []byte
}

func (m Message) String() string {
	s := fmt.Sprintf("v%d %s id=%d", m.Version, m.Type, m.ID)
	if m.Type.IsReply() {
		s += " " + m.Status.String()
	}
	if m.Key != "" {
		s += fmt.Sprintf(" key=%q", m.Key)
	}
	if m.TTL != 0 {
		s += fmt.Sprintf(" ttl=%v", m.TTL)
	}
	if len(m.Value) > 0 {
		v := m.Value
		if len(v) > 24 {
			v = v[:24]
		}
		s += fmt.Sprintf(" value=%q", v)
		if len(m.Value) > 24 {
			s += fmt.Sprintf("...(%d bytes)", len(m.Value))
		}
	}
	return s
}

// Errors the codecs return. Decoders wrap them with detail; test with
// errors.Is.
var (
	// ErrShort means the bytes end before the frame does: read more.
	ErrShort = errors.New("kv: incomplete frame")
	// ErrTooLarge means a length is over its limit. On a stream it is
	// fatal: the reader cannot skip what it will not read.
	ErrTooLarge = errors.New("kv: length over limit")
	// ErrVersion means a version this package does not speak.
	ErrVersion = errors.New("kv: unsupported version")
	// ErrMalformed means a frame that breaks the format: an unknown type,
	// lengths that do not add up, a field the version does not allow.
	ErrMalformed = errors.New("kv: malformed message")
)

// check validates a message before it is encoded, with the same rules
// the decoders apply, so that nothing encodable fails to decode.
func (m *Message) check() error {
	if m.Version < Version1 || m.Version > MaxVersion {
		return fmt.Errorf("%w: %d", ErrVersion, m.Version)
	}
	if !typeOK(m.Type, m.Status) {
		return fmt.Errorf("%w: %v", ErrMalformed, m.Type)
	}
	if m.Status >= statusEnd || (!m.Type.IsReply() && m.Status != StatusOK) {
		return fmt.Errorf("%w: status %v in %v", ErrMalformed, m.Status, m.Type)
	}
	if len(m.Key) > MaxKey {
		return fmt.Errorf("%w: key of %d bytes", ErrTooLarge, len(m.Key))
	}
	if len(m.Value) > MaxValue {
		return fmt.Errorf("%w: value of %d bytes", ErrTooLarge, len(m.Value))
	}
	if m.TTL != 0 && !m.hasTTL() {
		return fmt.Errorf("%w: ttl in a v%d %v", ErrMalformed, m.Version, m.Type)
	}
	if m.TTL < 0 || m.TTL > MaxTTL || m.TTL%time.Millisecond != 0 {
		return fmt.Errorf("%w: ttl %v is not whole milliseconds in 32 bits",
			ErrMalformed, m.TTL)
	}
	return nil
}

// hasTTL reports whether the message's version and type carry a TTL.
func (m *Message) hasTTL() bool { return m.Version >= Version2 && m.Type == Set }
