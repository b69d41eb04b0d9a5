package earlytls

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ContentType is the type of a TLS record (RFC 8446, Section 5.1).
type ContentType uint8

// The content types TLS 1.3 uses.
const (
	TypeChangeCipherSpec ContentType = 20
	TypeAlert            ContentType = 21
	TypeHandshake        ContentType = 22
	TypeApplicationData  ContentType = 23
)

func (t ContentType) String() string {
	switch t {
	case TypeChangeCipherSpec:
		return "change_cipher_spec"
	case TypeAlert:
		return "alert"
	case TypeHandshake:
		return "handshake"
	case TypeApplicationData:
		return "application_data"
	}
	return fmt.Sprintf("ContentType(%d)", uint8(t))
}

// Record sizes (RFC 8446, Section 5.1 and 5.2).
const (
	HeaderLen = 5 // type, legacy_record_version, length
	// MaxPlaintext bounds a record's content: 2^14 bytes.
	MaxPlaintext = 1 << 14
	// MaxCiphertext bounds a protected record's fragment: the content,
	// its inner type byte, padding and the AEAD tag.
	MaxCiphertext = MaxPlaintext + 256
)

// legacyVersion is what a TLS 1.3 record header carries as its version:
// TLS 1.2, for middleboxes that read it. The very first ClientHello may say
// TLS 1.0 (0x0301); receivers ignore the field (Section 5.1).
const legacyVersion = 0x0303

// Alert descriptions this package sends (RFC 8446, Section 6).
const (
	alertCloseNotify        = tls.AlertError(0)
	alertUnexpectedMessage  = tls.AlertError(10)
	alertBadRecordMAC       = tls.AlertError(20)
	alertRecordOverflow     = tls.AlertError(22)
	alertHandshakeFailure   = tls.AlertError(40)
	alertIllegalParameter   = tls.AlertError(47)
	alertDecodeError        = tls.AlertError(50)
	alertProtocolVersion    = tls.AlertError(70)
	alertInternalError      = tls.AlertError(80)
	alertUnsupportedVersion = alertProtocolVersion
)

// Record is one record as it crossed the wire: the header's type and
// version and the fragment that followed, still protected if it was.
type Record struct {
	Type     ContentType
	Version  uint16
	Fragment []byte
}

// ParseRecord parses the record at the start of b and returns it with the
// number of bytes it took. If b ends inside the record, n is 0 and err is
// nil: the caller needs more bytes. A header no TLS 1.3 peer would send (an
// unknown type, a version outside 0x0300-0x03ff, a length over
// MaxCiphertext) is an error, so that garbage is rejected after five bytes
// instead of waiting for a length it announced. Fragment aliases b.
func ParseRecord(b []byte) (rec Record, n int, err error) {
	if len(b) < HeaderLen {
		return Record{}, 0, nil
	}
	rec.Type = ContentType(b[0])
	rec.Version = binary.BigEndian.Uint16(b[1:3])
	length := int(binary.BigEndian.Uint16(b[3:5]))
	switch rec.Type {
	case TypeChangeCipherSpec, TypeAlert, TypeHandshake, TypeApplicationData:
	default:
		return Record{}, 0, fmt.Errorf("earlytls: record type %d: %w",
			b[0], alertUnexpectedMessage)
	}
	if rec.Version>>8 != 3 {
		return Record{}, 0, fmt.Errorf("earlytls: record version %#04x: %w",
			rec.Version, alertProtocolVersion)
	}
	max := MaxCiphertext
	if rec.Type != TypeApplicationData {
		max = MaxPlaintext // only protected records carry the overhead
	}
	if length > max {
		return Record{}, 0, fmt.Errorf("earlytls: %s record of %d bytes: %w",
			rec.Type, length, alertRecordOverflow)
	}
	if length == 0 && rec.Type != TypeApplicationData {
		// Zero-length fragments of handshake or alert type are
		// forbidden (Section 5.1).
		return Record{}, 0, fmt.Errorf("earlytls: empty %s record: %w",
			rec.Type, alertUnexpectedMessage)
	}
	if len(b) < HeaderLen+length {
		return Record{}, 0, nil
	}
	rec.Fragment = b[HeaderLen : HeaderLen+length]
	return rec, HeaderLen + length, nil
}

// ReadRecord reads one whole record from r into buf (which it grows to
// the largest record size if needed) and returns the record and the buffer;
// Fragment aliases the buffer. The header is checked before its length is
// trusted.
func ReadRecord(r io.Reader, buf []byte) (Record, []byte, error) {
	if cap(buf) < HeaderLen+MaxCiphertext {
		buf = make([]byte, HeaderLen+MaxCiphertext)
	}
	buf = buf[:HeaderLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return Record{}, buf, err
	}
	if _, _, err := ParseRecord(buf); err != nil {
		return Record{}, buf, err
	}
	buf = buf[:HeaderLen+int(binary.BigEndian.Uint16(buf[3:5]))]
	if _, err := io.ReadFull(r, buf[HeaderLen:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Record{}, buf, err
	}
	rec, _, err := ParseRecord(buf)
	return rec, buf, err
}

// AppendRecord appends an unprotected record carrying fragment to dst. The
// caller keeps fragment within MaxPlaintext.
func AppendRecord(dst []byte, typ ContentType, fragment []byte) []byte {
	dst = append(dst, byte(typ), legacyVersion>>8, legacyVersion&0xff,
		byte(len(fragment)>>8), byte(len(fragment)))
	return append(dst, fragment...)
}
