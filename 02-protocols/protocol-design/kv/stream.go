package kv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Codec reads and writes whole messages on a byte stream in one encoding.
// ReadMessage returns io.EOF at a clean end between messages and
// io.ErrUnexpectedEOF inside one; a *FrameError for a message that was
// read whole but could not be decoded (the stream stays usable); and any
// other error when framing is lost. WriteMessage is safe for concurrent
// use and writes each message with one Write.
type Codec interface {
	ReadMessage() (Message, error)
	WriteMessage(*Message) error
}

// readBufSize is the buffered reader's size: enough for typical messages
// in one read system call.
const readBufSize = 16 << 10

// lockedWriter serialises whole-message writes from concurrent handlers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) write(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.w.Write(b)
	return err
}

// NewBinaryCodec returns a Codec for binary frames. r may be a
// *bufio.Reader the caller has already peeked into.
func NewBinaryCodec(r io.Reader, w io.Writer) Codec {
	return &binaryCodec{r: bufio.NewReaderSize(r, readBufSize),
		w: &lockedWriter{w: w}}
}

type binaryCodec struct {
	r   *bufio.Reader
	w   *lockedWriter
	hdr [HeaderLen]byte
}

func (c *binaryCodec) ReadMessage() (Message, error) {
	if _, err := io.ReadFull(c.r, c.hdr[:]); err != nil {
		return Message{}, err
	}
	h, err := ParseHeader(c.hdr[:])
	if err != nil {
		return Message{}, err
	}
	// The header bounded the length, so this allocation is bounded too.
	body := make([]byte, h.Length)
	if _, err := io.ReadFull(c.r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Message{}, err
	}
	m, err := decodeBody(h, body)
	if err != nil {
		return Message{}, &FrameError{Header: h, Err: err}
	}
	return m, nil
}

func (c *binaryCodec) WriteMessage(m *Message) error {
	b, err := m.AppendBinary(make([]byte, 0, m.BinaryLen()))
	if err != nil {
		return err
	}
	return c.w.write(b)
}

// NewTextCodec returns a Codec for the JSON-lines twin.
func NewTextCodec(r io.Reader, w io.Writer) Codec {
	return &textCodec{r: bufio.NewReaderSize(r, readBufSize),
		w: &lockedWriter{w: w}}
}

type textCodec struct {
	r *bufio.Reader
	w *lockedWriter
}

// readLine returns the next line without its newline, refusing lines
// longer than MaxLine before it has buffered them.
func (c *textCodec) readLine() ([]byte, error) {
	var line []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		if len(line)+len(frag) > MaxLine {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrTooLarge, MaxLine)
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

func (c *textCodec) ReadMessage() (Message, error) {
	line, err := c.readLine()
	if err != nil {
		return Message{}, err
	}
	m, err := DecodeJSON(line)
	if err != nil {
		return Message{}, &FrameError{Err: err, Header: Header{
			Version: m.Version, Type: m.Type, ID: m.ID,
			Length: uint32(len(line))}}
	}
	return m, nil
}

func (c *textCodec) WriteMessage(m *Message) error {
	b, err := m.AppendJSON(nil)
	if err != nil {
		return err
	}
	return c.w.write(b)
}
