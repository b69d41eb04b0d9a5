package h1

import (
	"errors"
	"io"
)

// bodyKind is how a message's body is delimited (RFC 9112 section 6.3).
type bodyKind uint8

const (
	bodyNone    bodyKind = iota
	bodyFixed            // Content-Length
	bodyChunked          // Transfer-Encoding: chunked
	bodyClose            // until the connection closes (responses only)
)

// body reads one message body from a Reader. It lives inside its Request
// or Response, so reading a body allocates nothing.
type body struct {
	r       *Reader
	kind    bodyKind
	remain  int64 // fixed: bytes left; chunked: bytes left in this chunk
	total   int64 // bytes read so far
	max     int64
	started bool    // chunked: a chunk was read, so CRLF comes next
	err     error   // sticky: io.EOF at the end, or what failed
	trailer *Header // where a chunked body's trailer fields go
	// cont, if set, is called once before the first read: the server
	// sends "100 Continue" there.
	cont interface{ sendContinue() error }
}

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.kind == bodyNone {
		b.err = io.EOF
		return 0, io.EOF
	}
	if c := b.cont; c != nil {
		b.cont = nil
		if err := c.sendContinue(); err != nil {
			b.err = err
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	switch b.kind {
	case bodyFixed:
		n, err = b.readFixed(p)
	case bodyChunked:
		n, err = b.readChunked(p)
	case bodyClose:
		n, err = b.readClose(p)
	}
	b.total += int64(n)
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *body) readFixed(p []byte) (int, error) {
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.r.br.Read(p)
	b.remain -= int64(n)
	if b.remain == 0 {
		return n, io.EOF
	}
	if errors.Is(err, io.EOF) {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *body) readClose(p []byte) (int, error) {
	if b.total >= b.max {
		return 0, ErrBodyTooLarge
	}
	if int64(len(p)) > b.max-b.total+1 {
		p = p[:b.max-b.total+1]
	}
	n, err := b.r.br.Read(p)
	if b.total+int64(n) > b.max {
		return n, ErrBodyTooLarge
	}
	return n, err
}

// readChunked reads chunk data, crossing chunk boundaries as needed
// (RFC 9112 section 7.1).
func (b *body) readChunked(p []byte) (int, error) {
	for b.remain == 0 {
		if b.started {
			if err := b.r.expectCRLF(); err != nil {
				return 0, err
			}
		}
		size, err := b.r.readChunkSize()
		if err != nil {
			return 0, err
		}
		b.started = true
		if size == 0 {
			t, err := b.r.readTrailer()
			if err != nil {
				return 0, err
			}
			if b.trailer != nil {
				*b.trailer = t
			}
			return 0, io.EOF
		}
		if b.total+size > b.max {
			return 0, ErrBodyTooLarge
		}
		b.remain = size
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.r.br.Read(p)
	b.remain -= int64(n)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// drain reads and drops what is left of the body, up to max bytes, and
// reports whether the body ended cleanly within them, so the connection
// can carry the next message.
func (b *body) drain(max int64) bool {
	if b.kind == bodyNone || b.err == io.EOF {
		return b.err == nil || b.err == io.EOF
	}
	if b.cont != nil {
		return false // the client waits for a 100 we never sent
	}
	n, err := io.CopyN(io.Discard, b, max)
	return err == io.EOF || err == nil && n < max && b.err == io.EOF
}

// expectCRLF reads the CRLF that ends a chunk's data.
func (r *Reader) expectCRLF() error {
	c1, err := r.br.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	c2, err := r.br.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	if c1 != '\r' || c2 != '\n' {
		return badRequest("chunk data not followed by CRLF")
	}
	return nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

var errChunkLine = badRequest("chunk-size line exceeds the limit")

// readChunkSize reads "chunk-size [ chunk-ext ] CRLF" and returns the
// size. Extensions are checked against their grammar and ignored.
func (r *Reader) readChunkSize() (int64, error) {
	r.buf = r.buf[:0]
	n, err := r.readLine(r.lim.MaxChunkLine, errChunkLine)
	if err != nil {
		return 0, unexpected(err)
	}
	line := r.buf[:n]
	var size int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if i == 15 {
			return 0, ErrBodyTooLarge
		}
		size = size<<4 | int64(d)
	}
	if i == 0 {
		return 0, badRequest("malformed chunk-size")
	}
	if !validChunkExt(line[i:]) {
		return 0, badRequest("malformed chunk extension")
	}
	return size, nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// validChunkExt checks *( BWS ";" BWS name [ BWS "=" BWS value ] ), where
// value is a token or a quoted-string (RFC 9112 section 7.1.1).
func validChunkExt(s []byte) bool {
	ws := func() {
		for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
			s = s[1:]
		}
	}
	tok := func() bool {
		n := 0
		for n < len(s) && class[s[n]]&isToken != 0 {
			n++
		}
		s = s[n:]
		return n > 0
	}
	for {
		if len(s) == 0 {
			return true
		}
		ws() // BWS is allowed only before a ';'
		if len(s) == 0 || s[0] != ';' {
			return false
		}
		s = s[1:]
		ws()
		if !tok() {
			return false
		}
		rest := s
		ws()
		if len(s) == 0 || s[0] != '=' {
			s = rest // BWS only before an '='
			continue
		}
		s = s[1:]
		ws()
		if len(s) > 0 && s[0] == '"' {
			if !quoted(&s) {
				return false
			}
		} else if !tok() {
			return false
		}
	}
}

// quoted consumes a quoted-string (RFC 9110 section 5.6.4) from *s.
func quoted(s *[]byte) bool {
	b := (*s)[1:]
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			*s = b[i+1:]
			return true
		case c == '\\':
			i++
			if i == len(b) || class[b[i]]&isValue == 0 {
				return false
			}
		case class[c]&isValue == 0:
			return false
		}
	}
	return false
}
