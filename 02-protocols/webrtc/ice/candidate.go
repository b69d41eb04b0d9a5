package ice

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
)

// CandidateType says how a candidate's address was learned (RFC 8445
// section 5.1.1).
type CandidateType string

// The candidate types, as SDP spells them after "typ".
const (
	Host            CandidateType = "host"  // an address of a local interface
	ServerReflexive CandidateType = "srflx" // what a STUN server saw
	PeerReflexive   CandidateType = "prflx" // what the peer saw, in a check
	Relayed         CandidateType = "relay" // a TURN server's address
)

// TypePreference is the recommended type preference of section 5.1.2.2:
// host 126, peer-reflexive 110, server-reflexive 100, relayed 0.
func (t CandidateType) TypePreference() uint32 {
	switch t {
	case Host:
		return 126
	case PeerReflexive:
		return 110
	case ServerReflexive:
		return 100
	}
	return 0
}

// Priority is the recommended formula of section 5.1.2.1:
// 2^24*type preference + 2^8*local preference + (256 - component).
func Priority(t CandidateType, localPref uint16, component int) uint32 {
	return t.TypePreference()<<24 | uint32(localPref)<<8 | uint32(256-component)
}

// PairPriority is section 6.1.2.3's formula, where g is the priority of
// the controlling agent's candidate and d the controlled agent's:
// 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0).
func PairPriority(g, d uint32) uint64 {
	lo, hi := min(g, d), max(g, d)
	p := uint64(lo)<<32 + 2*uint64(hi)
	if g > d {
		p++
	}
	return p
}

// Foundation is a foundation for a candidate (section 5.1.1.3): equal
// for candidates of the same type, base address and STUN server, and
// different otherwise. This one is a 32-bit hash, in decimal.
func Foundation(t CandidateType, base netip.Addr, server netip.AddrPort) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s|%s|%s|udp", t, base, server)
	return strconv.FormatUint(uint64(h.Sum32()), 10)
}

// Candidate is one ICE candidate: a transport address the peer may try,
// with what RFC 8839 section 5.1 puts on an "a=candidate" line.
type Candidate struct {
	Foundation string
	Component  int    // 1 to 256; WebRTC uses 1 only (RTP and RTCP muxed)
	Transport  string // "UDP" (Chrome writes "udp"; TCP candidates exist too)
	Priority   uint32
	// Addr is the address and port. When the line gives a host name
	// instead (a browser's mDNS "….local" name), Hostname holds it and
	// Addr holds only the port.
	Addr     netip.AddrPort
	Hostname string
	Type     CandidateType
	// Related is raddr and rport: for a reflexive candidate, its base.
	Related    netip.AddrPort
	Extensions []Extension // name-value pairs after the known fields
}

// Extension is one cand-extension: "generation 0", "ufrag 8hhY", ...
type Extension struct{ Name, Value string }

// IsUDP reports whether the candidate's transport is UDP, the only one
// this package checks.
func (c Candidate) IsUDP() bool { return strings.EqualFold(c.Transport, "udp") }

// Bounds on what ParseCandidate accepts.
const (
	MaxCandidateLine  = 1024 // bytes
	maxFoundation     = 32   // ice-chars (RFC 8839 section 5.1)
	maxExtensions     = 16
	maxExtensionToken = 256
)

// ErrCandidate reports a candidate line that does not follow RFC 8839.
var ErrCandidate = errors.New("ice: bad candidate")

func badCandidate(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCandidate}, args...)...)
}

// ParseCandidate parses a candidate attribute (RFC 8839 section 5.1),
// with or without its "a=" prefix, as SDP carries it and as a browser's
// RTCIceCandidate.candidate string gives it:
//
//	candidate:1 1 UDP 2130706431 203.0.113.141 8998 typ host
//	candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998
//
// It reads network input: every field is checked and the line is
// bounded by MaxCandidateLine bytes and a few extensions.
func ParseCandidate(line string) (Candidate, error) {
	var c Candidate
	if len(line) > MaxCandidateLine {
		return c, badCandidate("line of %d bytes, over %d", len(line), MaxCandidateLine)
	}
	s, ok := strings.CutPrefix(strings.TrimPrefix(line, "a="), "candidate:")
	if !ok {
		return c, badCandidate("no candidate: prefix")
	}
	f := strings.Split(s, " ")
	if len(f) < 8 {
		return c, badCandidate("%d fields, want at least 8", len(f))
	}
	if len(f[0]) < 1 || len(f[0]) > maxFoundation || !iceChars(f[0]) {
		return c, badCandidate("foundation %q", f[0])
	}
	c.Foundation = f[0]
	comp, err := number(f[1], 3)
	if err != nil || comp < 1 || comp > 256 {
		return c, badCandidate("component %q", f[1])
	}
	c.Component = int(comp)
	if !token(f[2]) {
		return c, badCandidate("transport %q", f[2])
	}
	c.Transport = f[2]
	prio, err := number(f[3], 10)
	if err != nil || prio < 1 || prio > 1<<32-1 {
		return c, badCandidate("priority %q", f[3])
	}
	c.Priority = uint32(prio)
	port, err := number(f[5], 5)
	if err != nil || port > 65535 {
		return c, badCandidate("port %q", f[5])
	}
	if a, err := netip.ParseAddr(f[4]); err == nil && a.Zone() == "" {
		c.Addr = netip.AddrPortFrom(a, uint16(port))
	} else if hostname(f[4]) {
		c.Hostname, c.Addr = f[4], netip.AddrPortFrom(netip.Addr{}, uint16(port))
	} else {
		return c, badCandidate("connection address %q", f[4])
	}
	if f[6] != "typ" || !token(f[7]) {
		return c, badCandidate("want typ and a type, got %q %q", f[6], f[7])
	}
	c.Type = CandidateType(f[7])
	rest := f[8:]
	if len(rest)%2 != 0 {
		return c, badCandidate("extension %q has no value", rest[len(rest)-1])
	}
	var raddr netip.Addr
	var rport uint64
	seenAddr, seenPort := false, false
	for i := 0; i < len(rest); i += 2 {
		name, value := rest[i], rest[i+1]
		switch {
		case name == "raddr" && !seenAddr && i == 0:
			if raddr, err = netip.ParseAddr(value); err != nil || raddr.Zone() != "" {
				return c, badCandidate("raddr %q", value)
			}
			seenAddr = true
		case name == "rport" && seenAddr && !seenPort && i == 2:
			if rport, err = number(value, 5); err != nil || rport > 65535 {
				return c, badCandidate("rport %q", value)
			}
			seenPort = true
		case name == "raddr" || name == "rport":
			return c, badCandidate("%s out of place", name)
		default:
			if len(c.Extensions) == maxExtensions {
				return c, badCandidate("more than %d extensions", maxExtensions)
			}
			if !token(name) || len(name) > maxExtensionToken ||
				!byteString(value) || len(value) > maxExtensionToken {
				return c, badCandidate("extension %q %q", name, value)
			}
			c.Extensions = append(c.Extensions, Extension{name, value})
		}
	}
	if seenAddr != seenPort {
		return c, badCandidate("raddr without rport")
	}
	if seenAddr {
		c.Related = netip.AddrPortFrom(raddr, uint16(rport))
	}
	return c, nil
}

// String formats the candidate attribute without "a=", as it goes on an
// SDP line after "a=" and in a browser's RTCIceCandidate.
func (c Candidate) String() string {
	var b strings.Builder
	addr := c.Hostname
	if addr == "" {
		addr = c.Addr.Addr().String()
	}
	fmt.Fprintf(&b, "candidate:%s %d %s %d %s %d typ %s", c.Foundation,
		c.Component, c.Transport, c.Priority, addr, c.Addr.Port(), c.Type)
	if c.Related.IsValid() {
		fmt.Fprintf(&b, " raddr %s rport %d", c.Related.Addr(), c.Related.Port())
	}
	for _, e := range c.Extensions {
		fmt.Fprintf(&b, " %s %s", e.Name, e.Value)
	}
	return b.String()
}

// Short is a compact form for logs: "srflx 192.0.2.3:45664".
func (c Candidate) Short() string {
	if c.Hostname != "" {
		return fmt.Sprintf("%s %s:%d", c.Type, c.Hostname, c.Addr.Port())
	}
	return fmt.Sprintf("%s %s", c.Type, c.Addr)
}

// number parses 1 to max decimal digits.
func number(s string, maxDigits int) (uint64, error) {
	if len(s) == 0 || len(s) > maxDigits {
		return 0, strconv.ErrSyntax
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// iceChars reports whether s is made of ice-char: ALPHA / DIGIT / "+" /
// "/" (RFC 8839 section 5.1).
func iceChars(s string) bool {
	for i := range len(s) {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' ||
			ch >= '0' && ch <= '9' || ch == '+' || ch == '/') {
			return false
		}
	}
	return true
}

// token reports whether s is an RFC 8866 token: visible ASCII without
// the separators it excludes.
func token(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		ch := s[i]
		if ch <= 0x20 || ch >= 0x7F || strings.IndexByte(`"(),/:;<=>?@[\]{}`, ch) >= 0 {
			return false
		}
	}
	return true
}

// byteString reports whether s is a non-empty byte-string without NUL,
// CR, LF or a space (the value of an extension has no spaces).
func byteString(s string) bool {
	return s != "" && !strings.ContainsAny(s, "\x00\r\n ")
}

// hostname reports whether s looks like a DNS name (letters, digits,
// hyphens and dots, at most 253 bytes), such as an mDNS "….local".
func hostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := range len(s) {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' ||
			ch >= '0' && ch <= '9' || ch == '-' || ch == '.') {
			return false
		}
	}
	return true
}
