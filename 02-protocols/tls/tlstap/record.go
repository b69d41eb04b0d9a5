package tlstap

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ContentType is a record's type.
type ContentType uint8

// Record content types, RFC 8446 section 5.1.
const (
	ChangeCipherSpec ContentType = 20
	Alert            ContentType = 21
	Handshake        ContentType = 22
	ApplicationData  ContentType = 23
)

func (t ContentType) String() string {
	switch t {
	case ChangeCipherSpec:
		return "ChangeCipherSpec"
	case Alert:
		return "Alert"
	case Handshake:
		return "Handshake"
	case ApplicationData:
		return "ApplicationData"
	}
	return fmt.Sprintf("ContentType(%d)", uint8(t))
}

// HandshakeType is a handshake message's type.
type HandshakeType uint8

// Handshake message types, RFC 8446 section 4 and RFC 5246 section 7.4.
const (
	ClientHello        HandshakeType = 1
	ServerHello        HandshakeType = 2
	NewSessionTicket   HandshakeType = 4
	EncryptedExts      HandshakeType = 8
	Certificate        HandshakeType = 11
	ServerKeyExchange  HandshakeType = 12
	CertificateRequest HandshakeType = 13
	ServerHelloDone    HandshakeType = 14
	CertificateVerify  HandshakeType = 15
	ClientKeyExchange  HandshakeType = 16
	Finished           HandshakeType = 20
)

var handshakeNames = map[HandshakeType]string{
	ClientHello: "ClientHello", ServerHello: "ServerHello",
	NewSessionTicket: "NewSessionTicket", EncryptedExts: "EncryptedExtensions",
	Certificate: "Certificate", ServerKeyExchange: "ServerKeyExchange",
	CertificateRequest: "CertificateRequest", ServerHelloDone: "ServerHelloDone",
	CertificateVerify: "CertificateVerify", ClientKeyExchange: "ClientKeyExchange",
	Finished: "Finished",
}

func (t HandshakeType) String() string {
	if s, ok := handshakeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("HandshakeType(%d)", uint8(t))
}

// Limits the decoder enforces.
const (
	HeaderLen = 5
	// MaxRecord is the longest record fragment any TLS version allows
	// (TLS 1.2's TLSCiphertext, RFC 5246 section 6.2.3).
	MaxRecord = 1<<14 + 2048
	// MaxHandshake bounds one reassembled handshake message; real ones
	// (a certificate chain) are a few kilobytes.
	MaxHandshake = 1 << 18
	// headLen is how many fragment bytes a Record keeps for display.
	headLen = 32
)

// Record is one TLS record as it crossed the wire.
type Record struct {
	Type    ContentType
	Version uint16 // legacy_record_version: not the negotiated version
	Length  int    // fragment length
	// Encrypted reports that the fragment is protected: the tap cannot
	// read it.
	Encrypted bool
	// Messages are the plaintext handshake messages that ended in this
	// record, in order.
	Messages []Message
	// AlertLevel and AlertDesc are set for a readable alert.
	AlertLevel, AlertDesc uint8
	// Head is the start of the fragment, for showing what is on the wire.
	Head []byte
}

// Message is one plaintext handshake message.
type Message struct {
	Type   HandshakeType
	Length int    // body length, without the 4-byte header
	Hello  *Hello // for ClientHello and ServerHello, when it parsed
}

func (r Record) String() string {
	s := fmt.Sprintf("%s %d bytes", r.Type, r.Length)
	switch {
	case r.Encrypted:
		s += " (encrypted)"
	case r.Type == Alert:
		s += fmt.Sprintf(" level %d, %d", r.AlertLevel, r.AlertDesc)
	}
	for i, m := range r.Messages {
		if i == 0 {
			s += ":"
		}
		s += " " + m.Type.String()
	}
	return s
}

// Side is the sender of a record.
type Side int

// The two sides of a connection.
const (
	Client Side = iota
	Server
)

func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// ErrNotTLS means the bytes do not follow the record layer; decoding
// stops.
var ErrNotTLS = errors.New("tlstap: not a TLS record stream")

// Decoder decodes both directions of one TLS connection. Feed it each
// side's bytes in the order they were sent. It is not safe for concurrent
// use.
type Decoder struct {
	dirs [2]direction
	// Version is the version the ServerHello chose, 0 until it is seen.
	Version uint16
}

type direction struct {
	pending []byte // bytes of an incomplete record
	hs      []byte // plaintext handshake bytes of an incomplete message
	ccs     bool   // this side has sent change_cipher_spec
	err     error  // sticky: decoding stopped
}

// Feed decodes the records that b completes, from side from. After an
// error, every later call returns it: the stream is not TLS, or broke a
// bound.
func (d *Decoder) Feed(from Side, b []byte) ([]Record, error) {
	dir := &d.dirs[from&1]
	if dir.err != nil {
		return nil, dir.err
	}
	dir.pending = append(dir.pending, b...)
	var out []Record
	for len(dir.pending) >= HeaderLen {
		h := dir.pending
		r := Record{Type: ContentType(h[0]),
			Version: binary.BigEndian.Uint16(h[1:]),
			Length:  int(binary.BigEndian.Uint16(h[3:]))}
		if err := checkHeader(r); err != nil {
			dir.err = err
			return out, err
		}
		if len(h) < HeaderLen+r.Length {
			break
		}
		frag := h[HeaderLen : HeaderLen+r.Length]
		r.Head = append([]byte(nil), frag[:min(len(frag), headLen)]...)
		if err := d.decode(from, dir, &r, frag); err != nil {
			dir.err = err
			return out, err
		}
		out = append(out, r)
		dir.pending = dir.pending[HeaderLen+r.Length:]
	}
	// Keep the incomplete rest in a buffer of its own, so the bytes
	// already decoded can be collected.
	dir.pending = append([]byte(nil), dir.pending...)
	return out, nil
}

func checkHeader(r Record) error {
	if r.Type < ChangeCipherSpec || r.Type > ApplicationData {
		return fmt.Errorf("%w: content type %d", ErrNotTLS, uint8(r.Type))
	}
	if r.Version>>8 != 3 {
		return fmt.Errorf("%w: record version %#04x", ErrNotTLS, r.Version)
	}
	if r.Length > MaxRecord {
		return fmt.Errorf("%w: record of %d bytes, limit %d", ErrNotTLS, r.Length, MaxRecord)
	}
	return nil
}

// decode reads what is readable of one record's fragment.
func (d *Decoder) decode(from Side, dir *direction, r *Record, frag []byte) error {
	tls13 := d.Version == 0x0304
	switch r.Type {
	case ApplicationData:
		r.Encrypted = true
	case ChangeCipherSpec:
		dir.ccs = true
	case Alert:
		// A TLS 1.3 protected alert travels as application_data, so an
		// alert record is readable in 1.3; before, only until CCS.
		r.Encrypted = dir.ccs && !tls13
		if !r.Encrypted && len(frag) == 2 {
			r.AlertLevel, r.AlertDesc = frag[0], frag[1]
		}
	case Handshake:
		r.Encrypted = dir.ccs && !tls13
		if r.Encrypted {
			break
		}
		msgs, err := d.handshake(from, dir, frag)
		if err != nil {
			return err
		}
		r.Messages = msgs
	}
	return nil
}

// handshake reassembles plaintext handshake messages.
func (d *Decoder) handshake(from Side, dir *direction, frag []byte) ([]Message, error) {
	dir.hs = append(dir.hs, frag...)
	var msgs []Message
	for len(dir.hs) >= 4 {
		t := HandshakeType(dir.hs[0])
		n := int(dir.hs[1])<<16 | int(dir.hs[2])<<8 | int(dir.hs[3])
		if n > MaxHandshake {
			return msgs, fmt.Errorf("%w: %v of %d bytes, limit %d", ErrNotTLS, t, n,
				MaxHandshake)
		}
		if len(dir.hs) < 4+n {
			break
		}
		body := dir.hs[4 : 4+n]
		m := Message{Type: t, Length: n}
		switch {
		case t == ClientHello && from == Client:
			if h, err := parseClientHello(body); err == nil {
				m.Hello = h
			}
		case t == ServerHello && from == Server:
			if h, err := parseServerHello(body); err == nil {
				m.Hello = h
				if !h.Retry {
					d.Version = h.Version
				}
			}
		}
		msgs = append(msgs, m)
		dir.hs = dir.hs[4+n:]
	}
	dir.hs = append([]byte(nil), dir.hs...)
	return msgs, nil
}
