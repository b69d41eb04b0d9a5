package h1

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
)

// Reader reads HTTP/1.1 messages from a byte stream. It keeps its line
// buffer from one message to the next, so reading a request head
// allocates only the Request and one string that holds every field.
// A Reader is not safe for concurrent use.
type Reader struct {
	br  *bufio.Reader
	lim Limits

	buf  []byte     // the head being read: its lines, CRLF removed
	offs []fieldOff // where each field's name and value sit in buf
}

// fieldOff locates one field line in Reader.buf.
type fieldOff struct{ name, colon, vs, ve int32 }

// bufSize is the read buffer: one ordinary request head fits in it.
const bufSize = 4096

// NewReader returns a Reader on r with the given limits (zero fields take
// their defaults). If r is a *bufio.Reader it is used as it is.
func NewReader(r io.Reader, lim Limits) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, bufSize)
	}
	return &Reader{br: br, lim: lim.orDefault()}
}

// Reset makes the Reader read from r, dropping anything buffered.
func (r *Reader) Reset(src io.Reader) { r.br.Reset(src) }

// Buffered returns how many bytes are read from the stream and not yet
// parsed: a pipelined request waiting, or data after a 101 response.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Bufio returns the underlying buffered reader, which holds any bytes
// received beyond the last message read (see Hijack).
func (r *Reader) Bufio() *bufio.Reader { return r.br }

// errNoMessage is an io.EOF before the first byte of a message: the
// peer closed an idle connection, which is not an error.
var errNoMessage = io.EOF

// readLine appends one line to r.buf without its CRLF and returns its
// length. A line longer than max (CRLF not counted) fails with tooLong;
// a line not ended by CRLF, or holding a CR elsewhere, is a 400: RFC 9112
// section 2.2 lets a recipient accept a bare LF, and strictness here is
// what stops two parsers from disagreeing about where a line ends.
func (r *Reader) readLine(max int, tooLong error) (int, error) {
	start := len(r.buf)
	for {
		frag, err := r.br.ReadSlice('\n')
		if len(r.buf)-start+len(frag) > max+2 {
			return 0, tooLong
		}
		r.buf = append(r.buf, frag...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(r.buf) == start {
				return 0, errNoMessage
			}
			return 0, io.ErrUnexpectedEOF
		}
		return 0, err
	}
	line := r.buf[start:]
	n := len(line) - 2
	if n < 0 || line[n] != '\r' {
		return 0, badRequest("line not ended by CRLF (bare LF)")
	}
	if bytes.IndexByte(line[:n], '\r') >= 0 {
		return 0, badRequest("bare CR in a line")
	}
	r.buf = r.buf[:start+n]
	return n, nil
}

// readFields reads field lines up to the empty line that ends a header or
// trailer section, recording each in r.offs. used is what the section
// has already spent of Limits.MaxHeaderBytes.
func (r *Reader) readFields(used int) error {
	r.offs = r.offs[:0]
	for {
		start := len(r.buf)
		n, err := r.readLine(r.lim.MaxHeaderBytes-used, ErrHeaderTooLarge)
		if err != nil {
			if err == errNoMessage {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		used += n + 2
		if n == 0 {
			return nil
		}
		if len(r.offs) == r.lim.MaxFields {
			return ErrHeaderTooLarge
		}
		f, err := parseField(r.buf[start:], int32(start))
		if err != nil {
			return err
		}
		r.offs = append(r.offs, f)
	}
}

// parseField checks one field line (RFC 9112 section 5, RFC 9110 section
// 5.5) and returns where its parts are, offset by base.
func parseField(line []byte, base int32) (fieldOff, error) {
	if line[0] == ' ' || line[0] == '\t' {
		// obs-fold, or whitespace before the first field: both are
		// rejected, as section 5.2 and 2.2 allow.
		return fieldOff{}, badRequest("obsolete line folding")
	}
	colon := -1
	for i, c := range line {
		if c == ':' {
			colon = i
			break
		}
		if class[c]&isToken == 0 {
			// Includes whitespace between the name and the colon,
			// which section 5.1 says a server MUST reject with 400.
			return fieldOff{}, badRequest("invalid byte in field name")
		}
	}
	if colon <= 0 {
		return fieldOff{}, badRequest("field line without a name and colon")
	}
	vs, ve := colon+1, len(line)
	for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
		vs++
	}
	for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
		ve--
	}
	if !validValueBytes(line[vs:ve]) {
		return fieldOff{}, badRequest("invalid byte in field value")
	}
	return fieldOff{base, base + int32(colon), base + int32(vs),
		base + int32(ve)}, nil
}

// fields makes the recorded field lines into Fields that share s, the
// string copy of r.buf, appending them to dst.
func (r *Reader) fields(dst Header, s string) Header {
	for _, o := range r.offs {
		dst = append(dst, Field{s[o.name:o.colon], s[o.vs:o.ve]})
	}
	return dst
}

// readTrailer reads a trailer section after the last chunk.
func (r *Reader) readTrailer() (Header, error) {
	r.buf = r.buf[:0]
	if err := r.readFields(0); err != nil {
		return nil, err
	}
	if len(r.offs) == 0 {
		return nil, nil
	}
	return r.fields(make(Header, 0, len(r.offs)), string(r.buf)), nil
}

// validValueBytes reports whether every byte of v may appear in a field
// value: anything but the control bytes other than HTAB, and DEL. Eight
// bytes at a time: a word with no byte under 0x20 and none equal to 0x7f
// needs no closer look.
func validValueBytes(v []byte) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for len(v) >= 8 {
		w := binary.LittleEndian.Uint64(v)
		under := (w - 0x20*lo) &^ w & hi // some byte < 0x20
		x := w ^ 0x7f*lo
		del := (x - lo) &^ x & hi // some byte == 0x7f
		if under|del != 0 {
			for _, c := range v[:8] {
				if class[c]&isValue == 0 {
					return false
				}
			}
		}
		v = v[8:]
	}
	for _, c := range v {
		if class[c]&isValue == 0 {
			return false
		}
	}
	return true
}
