package stun

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// MagicCookie is the fixed value in every RFC 5389/8489 message.
const MagicCookie = 0x2112A442

// HeaderSize is the size of the fixed header.
const HeaderSize = 20

// Bounds on what Decode accepts.
const (
	MaxMessage    = 4096 // bytes, header included; far above any Binding
	MaxAttributes = 64
)

// Class is the message class.
type Class uint16

// The four classes.
const (
	ClassRequest    Class = 0b00
	ClassIndication Class = 0b01
	ClassSuccess    Class = 0b10
	ClassError      Class = 0b11
)

func (c Class) String() string {
	return [...]string{"request", "indication", "success response", "error response"}[c&3]
}

// Method is the message method; this package implements Binding.
type Method uint16

// MethodBinding is the only method RFC 8489 defines.
const MethodBinding Method = 0x001

// Type is a message type: a method and a class.
type Type struct {
	Method Method
	Class  Class
}

// Common types.
var (
	BindingRequest    = Type{MethodBinding, ClassRequest}
	BindingSuccess    = Type{MethodBinding, ClassSuccess}
	BindingError      = Type{MethodBinding, ClassError}
	BindingIndication = Type{MethodBinding, ClassIndication}
)

// Value returns the 14-bit wire form, interleaving class bits C1 and C0
// into the method's bits as Figure 3 of RFC 8489 shows.
func (t Type) Value() uint16 {
	m := uint16(t.Method)
	c := uint16(t.Class)
	return m&0x000F | (m&0x0070)<<1 | (m&0x0F80)<<2 | (c&1)<<4 | (c&2)<<7
}

// typeFromValue is Value's inverse.
func typeFromValue(v uint16) Type {
	m := v&0x000F | (v&0x00E0)>>1 | (v&0x3E00)>>2
	c := (v>>4)&1 | (v>>7)&2
	return Type{Method(m), Class(c)}
}

func (t Type) String() string {
	if t.Method == MethodBinding {
		return "Binding " + t.Class.String()
	}
	return fmt.Sprintf("method 0x%03x %s", uint16(t.Method), t.Class)
}

// TransactionID identifies a transaction.
type TransactionID [12]byte

// NewTransactionID returns a cryptographically random transaction id, as
// section 5 requires.
func NewTransactionID() TransactionID {
	var id TransactionID
	rand.Read(id[:])
	return id
}

// Attribute is one TLV attribute. Pad holds the padding bytes a decoded
// attribute arrived with, so a message re-encodes byte for byte; new
// attributes pad with zeros.
type Attribute struct {
	Type  AttrType
	Value []byte
	Pad   []byte
}

// Message is a STUN message.
type Message struct {
	Type          Type
	TransactionID TransactionID
	Attributes    []Attribute
}

// Errors from Decode.
var (
	ErrNotSTUN   = errors.New("stun: not a STUN message")
	ErrMalformed = errors.New("stun: malformed message")
)

// IsMessage reports whether b looks like a STUN message: the first two
// bits zero, the magic cookie in place, the length a multiple of four that
// matches the buffer. Agents use it to tell STUN from other protocols on
// the same port.
func IsMessage(b []byte) bool {
	return len(b) >= HeaderSize && b[0]&0xC0 == 0 &&
		binary.BigEndian.Uint32(b[4:8]) == MagicCookie &&
		binary.BigEndian.Uint16(b[2:4])%4 == 0 &&
		int(binary.BigEndian.Uint16(b[2:4]))+HeaderSize == len(b)
}

// Decode parses one whole message. It checks the header rules of section
// 5 and the attribute layout, not integrity or fingerprint: see
// CheckIntegrity and CheckFingerprint.
func Decode(b []byte) (*Message, error) {
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("%w: %d bytes, over %d", ErrMalformed, len(b), MaxMessage)
	}
	if !IsMessage(b) {
		return nil, ErrNotSTUN
	}
	m := &Message{Type: typeFromValue(binary.BigEndian.Uint16(b[0:2]))}
	copy(m.TransactionID[:], b[8:20])
	rest := b[HeaderSize:]
	for len(rest) > 0 {
		if len(m.Attributes) == MaxAttributes {
			return nil, fmt.Errorf("%w: more than %d attributes", ErrMalformed, MaxAttributes)
		}
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: truncated attribute header", ErrMalformed)
		}
		t := AttrType(binary.BigEndian.Uint16(rest[0:2]))
		n := int(binary.BigEndian.Uint16(rest[2:4]))
		padded := (n + 3) &^ 3
		if 4+padded > len(rest) {
			return nil, fmt.Errorf("%w: attribute %v of %d bytes overruns the message", ErrMalformed, t, n)
		}
		m.Attributes = append(m.Attributes, Attribute{Type: t,
			Value: append([]byte(nil), rest[4:4+n]...),
			Pad:   append([]byte(nil), rest[4+n:4+padded]...)})
		rest = rest[4+padded:]
	}
	return m, nil
}

// Encode returns the message's bytes.
func (m *Message) Encode() []byte {
	b := make([]byte, HeaderSize, 128)
	binary.BigEndian.PutUint16(b[0:2], m.Type.Value())
	binary.BigEndian.PutUint32(b[4:8], MagicCookie)
	copy(b[8:20], m.TransactionID[:])
	for _, a := range m.Attributes {
		b = appendAttr(b, a)
	}
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)-HeaderSize))
	return b
}

func appendAttr(b []byte, a Attribute) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(a.Type))
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Value)))
	b = append(b, a.Value...)
	pad := (4 - len(a.Value)%4) % 4
	if len(a.Pad) == pad {
		return append(b, a.Pad...)
	}
	return append(b, make([]byte, pad)...)
}

// Get returns the value of the first attribute of type t.
func (m *Message) Get(t AttrType) ([]byte, bool) {
	for _, a := range m.Attributes {
		if a.Type == t {
			return a.Value, true
		}
	}
	return nil, false
}

// Add appends an attribute.
func (m *Message) Add(t AttrType, v []byte) {
	m.Attributes = append(m.Attributes, Attribute{Type: t, Value: v})
}

// UnknownRequired lists the comprehension-required attributes (types below
// 0x8000) that this package does not know, in order, without repeats.
func (m *Message) UnknownRequired() []AttrType {
	var out []AttrType
	for _, a := range m.Attributes {
		if a.Type < 0x8000 && !a.Type.known() && !contains(out, a.Type) {
			out = append(out, a.Type)
		}
	}
	return out
}

func contains(s []AttrType, t AttrType) bool {
	for _, x := range s {
		if x == t {
			return true
		}
	}
	return false
}

func (m *Message) String() string {
	s := fmt.Sprintf("%v tx=%x", m.Type, m.TransactionID[:4])
	for _, a := range m.Attributes {
		s += " " + a.Type.String()
	}
	return s
}
