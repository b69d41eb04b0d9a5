package tlstap

import (
	"bytes"
	"crypto/tls"
	"errors"
)

// Hello is what the tap reads from a ClientHello or a ServerHello.
type Hello struct {
	// Retry marks a HelloRetryRequest: a ServerHello with the special
	// random of RFC 8446 section 4.1.3, asking for another key share.
	Retry bool
	// Version is the ServerHello's chosen version (supported_versions,
	// else legacy_version); in a ClientHello, the highest offered.
	Version uint16
	// Versions are the versions a ClientHello offers.
	Versions []uint16
	// CipherSuites are offered (ClientHello) or the one chosen.
	CipherSuites []uint16
	// Groups are the key-share groups: one share each offered by the
	// client, or the one the server answered with.
	Groups []tls.CurveID
	// ServerName is the ClientHello's SNI host name.
	ServerName string
	// ALPN are the application protocols offered.
	ALPN []string
	// PSK reports a pre_shared_key extension: offered by a client that
	// tries to resume, echoed by a server that accepts (TLS 1.3).
	PSK bool
	// SessionTicket reports a non-empty session_ticket extension in a
	// ClientHello: a TLS 1.2 client trying to resume (RFC 5077).
	SessionTicket bool
}

var errShortHello = errors.New("tlstap: malformed hello")

// helloRetryRandom is SHA-256("HelloRetryRequest"), RFC 8446 4.1.3.
var helloRetryRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02,
	0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
	0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// Extension numbers, from the IANA TLS ExtensionType registry.
const (
	extServerName        = 0
	extALPN              = 16
	extSessionTicket     = 35
	extPreSharedKey      = 41
	extSupportedVersions = 43
	extKeyShare          = 51
)

// cursor reads a hello without ever reading past its end: every method
// returns false when the bytes run out.
type cursor []byte

func (c *cursor) bytes(n int) ([]byte, bool) {
	if n < 0 || len(*c) < n {
		return nil, false
	}
	b := (*c)[:n]
	*c = (*c)[n:]
	return b, true
}

func (c *cursor) u8() (int, bool) {
	b, ok := c.bytes(1)
	if !ok {
		return 0, false
	}
	return int(b[0]), true
}

func (c *cursor) u16() (int, bool) {
	b, ok := c.bytes(2)
	if !ok {
		return 0, false
	}
	return int(b[0])<<8 | int(b[1]), true
}

// vec reads a vector whose length prefix is lenBytes (1 or 2) long.
func (c *cursor) vec(lenBytes int) (cursor, bool) {
	var n int
	var ok bool
	if lenBytes == 2 {
		n, ok = c.u16()
	} else {
		n, ok = c.u8()
	}
	if !ok {
		return nil, false
	}
	b, ok := c.bytes(n)
	return cursor(b), ok
}

func parseClientHello(body []byte) (*Hello, error) {
	c := cursor(body)
	h := &Hello{}
	v, ok1 := c.u16()
	_, ok2 := c.bytes(32)
	_, ok3 := c.vec(1) // legacy_session_id
	suites, ok4 := c.vec(2)
	_, ok5 := c.vec(1) // compression methods
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return nil, errShortHello
	}
	h.Version = uint16(v)
	for len(suites) >= 2 {
		s, _ := suites.u16()
		h.CipherSuites = append(h.CipherSuites, uint16(s))
	}
	if len(c) == 0 {
		return h, nil // no extensions: a TLS 1.0-style hello
	}
	exts, ok := c.vec(2)
	if !ok {
		return nil, errShortHello
	}
	return h, h.extensions(exts, true)
}

func parseServerHello(body []byte) (*Hello, error) {
	c := cursor(body)
	h := &Hello{}
	v, ok1 := c.u16()
	random, ok2 := c.bytes(32)
	_, ok3 := c.vec(1)
	suite, ok4 := c.u16()
	_, ok5 := c.u8()
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return nil, errShortHello
	}
	h.Version, h.CipherSuites = uint16(v), []uint16{uint16(suite)}
	h.Retry = bytes.Equal(random, helloRetryRandom)
	if len(c) == 0 {
		return h, nil
	}
	exts, ok := c.vec(2)
	if !ok {
		return nil, errShortHello
	}
	return h, h.extensions(exts, false)
}

func (h *Hello) extensions(exts cursor, client bool) error {
	for len(exts) > 0 {
		typ, ok1 := exts.u16()
		data, ok2 := exts.vec(2)
		if !ok1 || !ok2 {
			return errShortHello
		}
		var ok bool
		switch typ {
		case extServerName:
			ok = !client || h.serverName(data)
		case extALPN:
			ok = h.alpn(data)
		case extSessionTicket:
			h.SessionTicket, ok = client && len(data) > 0, true
		case extPreSharedKey:
			h.PSK, ok = true, true
		case extSupportedVersions:
			ok = h.versions(data, client)
		case extKeyShare:
			ok = h.keyShare(data, client)
		default:
			ok = true
		}
		if !ok {
			return errShortHello
		}
	}
	return nil
}

func (h *Hello) serverName(data cursor) bool {
	list, ok := data.vec(2)
	for ok && len(list) > 0 {
		var typ int
		var name cursor
		typ, ok = list.u8()
		if ok {
			name, ok = list.vec(2)
		}
		if ok && typ == 0 {
			h.ServerName = string(name)
		}
	}
	return ok
}

func (h *Hello) alpn(data cursor) bool {
	list, ok := data.vec(2)
	for ok && len(list) > 0 {
		var p cursor
		if p, ok = list.vec(1); ok {
			h.ALPN = append(h.ALPN, string(p))
		}
	}
	return ok
}

func (h *Hello) versions(data cursor, client bool) bool {
	if !client {
		v, ok := data.u16()
		h.Version = uint16(v)
		return ok
	}
	list, ok := data.vec(1)
	for ok && len(list) >= 2 {
		v, _ := list.u16()
		h.Versions = append(h.Versions, uint16(v))
		// Skip GREASE values (RFC 8701) when picking the highest.
		if v&0x0f0f != 0x0a0a && uint16(v) > h.Version {
			h.Version = uint16(v)
		}
	}
	return ok
}

func (h *Hello) keyShare(data cursor, client bool) bool {
	if !client {
		// A ServerHello's KeyShareEntry, or a HelloRetryRequest's group.
		g, ok := data.u16()
		h.Groups = append(h.Groups, tls.CurveID(g))
		return ok
	}
	list, ok := data.vec(2)
	for ok && len(list) > 0 {
		var g int
		if g, ok = list.u16(); ok {
			_, ok = list.vec(2)
			h.Groups = append(h.Groups, tls.CurveID(g))
		}
	}
	return ok
}
