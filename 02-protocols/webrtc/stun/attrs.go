package stun

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unicode/utf8"
)

// AttrType is an attribute type. Types below 0x8000 are
// comprehension-required: an agent that does not know one must refuse the
// message.
type AttrType uint16

// Attribute types (RFC 8489 section 18.3, and RFC 8445 for ICE).
const (
	AttrMappedAddress          AttrType = 0x0001
	AttrUsername               AttrType = 0x0006
	AttrMessageIntegrity       AttrType = 0x0008
	AttrErrorCode              AttrType = 0x0009
	AttrUnknownAttributes      AttrType = 0x000A
	AttrRealm                  AttrType = 0x0014
	AttrNonce                  AttrType = 0x0015
	AttrMessageIntegritySHA256 AttrType = 0x001C
	AttrXORMappedAddress       AttrType = 0x0020
	AttrPriority               AttrType = 0x0024 // ICE
	AttrUseCandidate           AttrType = 0x0025 // ICE
	AttrSoftware               AttrType = 0x8022
	AttrFingerprint            AttrType = 0x8028
	AttrICEControlled          AttrType = 0x8029
	AttrICEControlling         AttrType = 0x802A
)

var attrNames = map[AttrType]string{
	AttrMappedAddress: "MAPPED-ADDRESS", AttrUsername: "USERNAME",
	AttrMessageIntegrity: "MESSAGE-INTEGRITY", AttrErrorCode: "ERROR-CODE",
	AttrUnknownAttributes: "UNKNOWN-ATTRIBUTES", AttrRealm: "REALM", AttrNonce: "NONCE",
	AttrMessageIntegritySHA256: "MESSAGE-INTEGRITY-SHA256",
	AttrXORMappedAddress:       "XOR-MAPPED-ADDRESS", AttrPriority: "PRIORITY",
	AttrUseCandidate: "USE-CANDIDATE", AttrSoftware: "SOFTWARE",
	AttrFingerprint: "FINGERPRINT", AttrICEControlled: "ICE-CONTROLLED",
	AttrICEControlling: "ICE-CONTROLLING",
}

func (t AttrType) known() bool { _, ok := attrNames[t]; return ok }

func (t AttrType) String() string {
	if n, ok := attrNames[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%04X", uint16(t))
}

// Address families of MAPPED-ADDRESS and XOR-MAPPED-ADDRESS.
const (
	familyIPv4 = 0x01
	familyIPv6 = 0x02
)

// ErrAttribute reports an attribute whose value is not well formed.
var ErrAttribute = errors.New("stun: bad attribute value")

// xorKey is what an address is XORed with: the cookie, then the
// transaction id (section 14.2).
func (m *Message) xorKey() [16]byte {
	var k [16]byte
	binary.BigEndian.PutUint32(k[:4], MagicCookie)
	copy(k[4:], m.TransactionID[:])
	return k
}

// encodeAddr encodes an address attribute value, XORed if xor is set.
func (m *Message) encodeAddr(ap netip.AddrPort, xor bool) []byte {
	addr := ap.Addr().Unmap()
	ip := addr.AsSlice()
	v := make([]byte, 4, 4+len(ip))
	v[1] = familyIPv4
	if addr.Is6() {
		v[1] = familyIPv6
	}
	port := ap.Port()
	if xor {
		key := m.xorKey()
		port ^= MagicCookie >> 16
		for i := range ip {
			ip[i] ^= key[i]
		}
	}
	binary.BigEndian.PutUint16(v[2:4], port)
	return append(v, ip...)
}

func (m *Message) decodeAddr(v []byte, xor bool) (netip.AddrPort, error) {
	if len(v) < 4 {
		return netip.AddrPort{}, fmt.Errorf("%w: address too short", ErrAttribute)
	}
	var n int
	switch v[1] {
	case familyIPv4:
		n = 4
	case familyIPv6:
		n = 16
	default:
		return netip.AddrPort{}, fmt.Errorf("%w: address family %d", ErrAttribute, v[1])
	}
	if len(v) != 4+n {
		return netip.AddrPort{}, fmt.Errorf("%w: address of %d bytes for family %d", ErrAttribute, len(v)-4, v[1])
	}
	ip := append([]byte(nil), v[4:]...)
	port := binary.BigEndian.Uint16(v[2:4])
	if xor {
		key := m.xorKey()
		port ^= MagicCookie >> 16
		for i := range ip {
			ip[i] ^= key[i]
		}
	}
	addr, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(addr, port), nil
}

// AddXORMappedAddress adds the reflexive address, XORed (section 14.2).
func (m *Message) AddXORMappedAddress(ap netip.AddrPort) {
	m.Add(AttrXORMappedAddress, m.encodeAddr(ap, true))
}

// AddMappedAddress adds the reflexive address in the clear (section 14.1,
// for RFC 3489 clients).
func (m *Message) AddMappedAddress(ap netip.AddrPort) {
	m.Add(AttrMappedAddress, m.encodeAddr(ap, false))
}

// XORMappedAddress returns the decoded XOR-MAPPED-ADDRESS.
func (m *Message) XORMappedAddress() (netip.AddrPort, error) {
	v, ok := m.Get(AttrXORMappedAddress)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%w: no XOR-MAPPED-ADDRESS", ErrAttribute)
	}
	return m.decodeAddr(v, true)
}

// MappedAddress returns the decoded MAPPED-ADDRESS.
func (m *Message) MappedAddress() (netip.AddrPort, error) {
	v, ok := m.Get(AttrMappedAddress)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%w: no MAPPED-ADDRESS", ErrAttribute)
	}
	return m.decodeAddr(v, false)
}

// Bounds on text attributes, in bytes (sections 14.3, 14.8, 14.14: the
// limits a receiver must accept).
const (
	maxUsername = 763
	maxText     = 763
)

// AddText adds a UTF-8 text attribute such as USERNAME, SOFTWARE, REALM or
// NONCE.
func (m *Message) AddText(t AttrType, s string) { m.Add(t, []byte(s)) }

// Text returns a text attribute, checking that it is UTF-8 and within the
// RFC's bounds.
func (m *Message) Text(t AttrType) (string, error) {
	v, ok := m.Get(t)
	if !ok {
		return "", fmt.Errorf("%w: no %v", ErrAttribute, t)
	}
	if len(v) > maxText || !utf8.Valid(v) {
		return "", fmt.Errorf("%w: %v is not short UTF-8", ErrAttribute, t)
	}
	return string(v), nil
}

// ErrorCode is the value of an ERROR-CODE attribute.
type ErrorCode struct {
	Code   int // 300 to 699
	Reason string
}

func (e ErrorCode) Error() string { return fmt.Sprintf("stun: error %d %s", e.Code, e.Reason) }

// Error codes of section 14.8.
const (
	CodeTryAlternate     = 300
	CodeBadRequest       = 400
	CodeUnauthenticated  = 401
	CodeUnknownAttribute = 420
	CodeStaleNonce       = 438
	CodeServerError      = 500
)

// AddErrorCode adds an ERROR-CODE: class (hundreds) and number (the rest)
// in separate fields.
func (m *Message) AddErrorCode(code int, reason string) {
	v := []byte{0, 0, byte(code / 100), byte(code % 100)}
	m.Add(AttrErrorCode, append(v, reason...))
}

// ErrorCode returns the decoded ERROR-CODE.
func (m *Message) ErrorCode() (ErrorCode, error) {
	v, ok := m.Get(AttrErrorCode)
	if !ok {
		return ErrorCode{}, fmt.Errorf("%w: no ERROR-CODE", ErrAttribute)
	}
	if len(v) < 4 || len(v) > 4+maxText {
		return ErrorCode{}, fmt.Errorf("%w: ERROR-CODE of %d bytes", ErrAttribute, len(v))
	}
	class, number := int(v[2]&0x07), int(v[3])
	if class < 3 || class > 6 || number > 99 || !utf8.Valid(v[4:]) {
		return ErrorCode{}, fmt.Errorf("%w: ERROR-CODE %d.%d", ErrAttribute, class, number)
	}
	return ErrorCode{class*100 + number, string(v[4:])}, nil
}

// AddUnknownAttributes adds UNKNOWN-ATTRIBUTES listing types.
func (m *Message) AddUnknownAttributes(types []AttrType) {
	v := make([]byte, 0, 2*len(types))
	for _, t := range types {
		v = binary.BigEndian.AppendUint16(v, uint16(t))
	}
	m.Add(AttrUnknownAttributes, v)
}

// UnknownAttributes returns the types listed in UNKNOWN-ATTRIBUTES.
func (m *Message) UnknownAttributes() ([]AttrType, error) {
	v, ok := m.Get(AttrUnknownAttributes)
	if !ok || len(v)%2 != 0 {
		return nil, fmt.Errorf("%w: UNKNOWN-ATTRIBUTES", ErrAttribute)
	}
	out := make([]AttrType, 0, len(v)/2)
	for i := 0; i < len(v); i += 2 {
		out = append(out, AttrType(binary.BigEndian.Uint16(v[i:])))
	}
	return out, nil
}
