package clienthello

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is wrapped by every error about bytes that break the
// format.
var ErrMalformed = errors.New("clienthello: malformed")

// Extension types this package reads or reports.
const (
	extServerName        = 0
	extALPN              = 16
	extSupportedVersions = 43
	extECH               = 0xfe0d // draft-ietf-tls-esni, as crypto/tls uses
)

const (
	typeClientHello = 1 // HandshakeType client_hello, RFC 8446 4
	hostName        = 0 // NameType host_name, RFC 6066 3
)

// Hello is what a ClientHello tells a router.
type Hello struct {
	// Version is legacy_version: 0x0303 (TLS 1.2) in every TLS 1.3 hello,
	// which names its real versions in Versions.
	Version uint16
	// ServerName is the SNI host_name, "" if the client sent none (as
	// when it connects to an IP address).
	ServerName string
	// ALPN lists the protocols the client offers, in its order of
	// preference; nil without the extension.
	ALPN []string
	// Versions lists supported_versions; nil without the extension.
	Versions []uint16
	// ECH reports an encrypted_client_hello extension: then ServerName is
	// the outer, public name, and the real one is encrypted.
	ECH bool
	// Extensions lists every extension type in the order sent.
	Extensions []uint16
}

// String formats the hello on one line for a narrative.
func (h *Hello) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "server_name=%q", h.ServerName)
	if h.ALPN != nil {
		fmt.Fprintf(&b, " alpn=%v", h.ALPN)
	}
	if h.Versions != nil {
		names := make([]string, len(h.Versions))
		for i, v := range h.Versions {
			names[i] = tls.VersionName(v)
		}
		fmt.Fprintf(&b, " versions=[%s]", strings.Join(names, ", "))
	}
	if h.ECH {
		b.WriteString(" ech")
	}
	return b.String()
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Parse reads one ClientHello handshake message, its 4-byte header
// included (msg_type, uint24 length), as it appears in TLS records or a
// QUIC CRYPTO frame.
func Parse(msg []byte) (*Hello, error) {
	if len(msg) > MaxLen {
		return nil, ErrTooLarge
	}
	c := newCursor(msg)
	typ, n := c.u8(), c.u24()
	if !c.ok {
		return nil, malformed("short handshake header")
	}
	if typ != typeClientHello {
		return nil, malformed("handshake type %d, want client_hello (1)", typ)
	}
	if n != len(c.b) {
		return nil, malformed("handshake length %d, have %d bytes", n, len(c.b))
	}
	h := &Hello{Version: uint16(c.u16())}
	c.bytes(32) // random
	c.vec8()    // legacy_session_id
	suites := c.vec16()
	c.vec8() // legacy_compression_methods
	if !c.ok {
		return nil, malformed("ClientHello cut short before its extensions")
	}
	if len(suites.b)%2 != 0 {
		return nil, malformed("cipher_suites of odd length %d", len(suites.b))
	}
	if c.empty() {
		return h, nil // a TLS 1.2 hello may have no extensions at all
	}
	exts := c.vec16()
	if !c.ok || !c.empty() {
		return nil, malformed("extensions block does not end the message")
	}
	seen := make(map[uint16]bool)
	for !exts.empty() {
		typ := uint16(exts.u16())
		data := exts.vec16()
		if !exts.ok {
			return nil, malformed("extension %d cut short", typ)
		}
		if seen[typ] {
			return nil, malformed("extension %d sent twice", typ)
		}
		seen[typ] = true
		h.Extensions = append(h.Extensions, typ)
		var err error
		switch typ {
		case extServerName:
			h.ServerName, err = parseServerName(data)
		case extALPN:
			h.ALPN, err = parseALPN(data)
		case extSupportedVersions:
			h.Versions, err = parseVersions(data)
		case extECH:
			h.ECH = true
		}
		if err != nil {
			return nil, err
		}
	}
	return h, nil
}

// parseServerName reads a ServerNameList (RFC 6066 section 3). Entries of
// other name types are skipped; there are none defined.
func parseServerName(data *cursor) (string, error) {
	list := data.vec16()
	if !data.ok || !data.empty() || list.empty() {
		return "", malformed("server_name: bad ServerNameList")
	}
	var name string
	for !list.empty() {
		typ := list.u8()
		v := list.vec16()
		if !list.ok || v.empty() {
			return "", malformed("server_name: bad entry")
		}
		if typ != hostName {
			continue
		}
		if name != "" {
			return "", malformed("server_name: two host_name entries")
		}
		name = string(v.b)
		if strings.HasSuffix(name, ".") {
			return "", malformed("server_name %q ends with a dot", name)
		}
	}
	return name, nil
}

// parseALPN reads a ProtocolNameList (RFC 7301 section 3.1).
func parseALPN(data *cursor) ([]string, error) {
	list := data.vec16()
	if !data.ok || !data.empty() || list.empty() {
		return nil, malformed("alpn: bad ProtocolNameList")
	}
	var protos []string
	for !list.empty() {
		p := list.vec8()
		if !list.ok || p.empty() {
			return nil, malformed("alpn: empty or cut-short protocol name")
		}
		protos = append(protos, string(p.b))
	}
	return protos, nil
}

// parseVersions reads the ClientHello form of supported_versions (RFC
// 8446 section 4.2.1).
func parseVersions(data *cursor) ([]uint16, error) {
	list := data.vec8()
	if !data.ok || !data.empty() || list.empty() || len(list.b)%2 != 0 {
		return nil, malformed("supported_versions: bad list")
	}
	var vs []uint16
	for !list.empty() {
		vs = append(vs, uint16(list.u16()))
	}
	return vs, nil
}
