package clienthello

import (
	"errors"
	"fmt"
	"io"
)

// MaxLen bounds a ClientHello message, header included: 64 KiB, the limit
// crypto/tls applies. A real one is 200 bytes to 2 KiB.
const MaxLen = 1 << 16

// maxFragment is the largest TLSPlaintext fragment, 2^14 (RFC 8446 5.1).
const maxFragment = 1 << 14

const (
	recordHeaderLen = 5
	recordHandshake = 22 // ContentType handshake
	recordAlert     = 21 // ContentType alert
)

// ErrNotHandshake means the first record is not a TLS handshake record:
// the client is not speaking TLS (a plain HTTP request starts with "GET ").
var ErrNotHandshake = errors.New("clienthello: not a TLS handshake")

// ErrTooLarge means the ClientHello claims more than MaxLen bytes.
var ErrTooLarge = fmt.Errorf("%w: ClientHello longer than %d bytes", ErrMalformed, MaxLen)

// Read reads TLS records from r until they hold a whole ClientHello, and
// returns it parsed along with raw, every byte it read from r, which the
// caller must send on unchanged before relaying the rest. It reads nothing
// past the record that completes the message. raw is returned on error
// too, for logging; an early EOF comes back as io.ErrUnexpectedEOF.
func Read(r io.Reader) (h *Hello, raw []byte, err error) {
	var msg []byte
	for {
		start := len(raw)
		raw = append(raw, make([]byte, recordHeaderLen)...)
		if _, err := io.ReadFull(r, raw[start:]); err != nil {
			return nil, raw[:start], eof(err, start == 0)
		}
		hdr := raw[start:]
		typ, major, n := hdr[0], hdr[1], int(hdr[3])<<8|int(hdr[4])
		switch {
		case start == 0 && (typ != recordHandshake || major != 3):
			return nil, raw, ErrNotHandshake
		case typ != recordHandshake:
			return nil, raw, malformed("record type %d inside a ClientHello", typ)
		case n == 0:
			return nil, raw, malformed("empty handshake record")
		case n > maxFragment:
			return nil, raw, malformed("record of %d bytes, limit %d", n, maxFragment)
		}
		raw = append(raw, make([]byte, n)...)
		if _, err := io.ReadFull(r, raw[len(raw)-n:]); err != nil {
			return nil, raw[:len(raw)-n], eof(err, false)
		}
		msg = append(msg, raw[len(raw)-n:]...)
		if len(msg) < 4 {
			continue
		}
		if msg[0] != typeClientHello {
			return nil, raw, malformed("handshake type %d, want client_hello (1)", msg[0])
		}
		want := 4 + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]))
		if want > MaxLen {
			return nil, raw, ErrTooLarge
		}
		if len(msg) >= want {
			// Bytes after the message in the same record are not ours
			// to judge; they stay in raw and go to the backend.
			h, err := Parse(msg[:want])
			return h, raw, err
		}
	}
}

func eof(err error, atStart bool) error {
	if errors.Is(err, io.EOF) && !atStart {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Alert is the record a TLS server sends to refuse a connection before
// any key exists: a fatal alert (RFC 8446 section 6) in plaintext.
func Alert(description byte) []byte {
	return []byte{recordAlert, 3, 3, 0, 2, 2 /* fatal */, description}
}

// UnrecognizedName is the alert for a server name nobody here serves
// (RFC 6066 section 3, RFC 8446 section 6.2).
const UnrecognizedName = 112
