package h3

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"sync"

	"backend-protocols/02-protocols/http3/quic"
)

// NextProto is the ALPN token of HTTP/3.
const NextProto = "h3"

// defaultMaxFieldSection is the SETTINGS_MAX_FIELD_SECTION_SIZE this
// endpoint declares unless told otherwise: the largest header block it
// decodes.
const defaultMaxFieldSection = 64 << 10

// conn is the HTTP/3 state both sides keep on one QUIC connection: the
// control stream and QPACK streams each way, and the peer's settings.
type conn struct {
	qc              *quic.Conn
	isServer        bool
	maxFieldSection uint64

	mu           sync.Mutex
	peerSettings settings
	settingsCh   chan struct{} // closed when the peer's SETTINGS arrive
	gotSettings  bool
	peerStreams  [4]bool // which of control, push, encoder, decoder arrived
	goawayID     uint64
	gotGoaway    bool
	goawayCh     chan struct{}
	ctrl         *quic.Stream
}

func newConn(qc *quic.Conn, isServer bool, maxField uint64) *conn {
	if maxField == 0 {
		maxField = defaultMaxFieldSection
	}
	return &conn{qc: qc, isServer: isServer, maxFieldSection: maxField,
		settingsCh: make(chan struct{}), goawayCh: make(chan struct{})}
}

// start opens this side's control stream with SETTINGS and its QPACK
// encoder and decoder streams (which stay silent: the dynamic table is
// never used), then serves the peer's unidirectional streams.
func (c *conn) start(ctx context.Context) error {
	ctrl, err := c.qc.OpenUniStream(ctx)
	if err != nil {
		return err
	}
	var g [1]byte
	rand.Read(g[:])
	b := []byte{streamControl}
	b = appendSettings(b, c.maxFieldSection, uint64(g[0]&0x0f))
	if _, err := ctrl.Write(b); err != nil {
		return err
	}
	c.mu.Lock()
	c.ctrl = ctrl
	c.mu.Unlock()
	for _, typ := range []byte{streamQPACKEncoder, streamQPACKDecoder} {
		s, err := c.qc.OpenUniStream(ctx)
		if err != nil {
			return err
		}
		if _, err := s.Write([]byte{typ}); err != nil {
			return err
		}
	}
	go c.acceptUni(context.Background())
	return nil
}

// fail closes the connection with an HTTP/3 error code.
func (c *conn) fail(err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: ErrCodeGeneralProtocolError, Reason: err.Error()}
	}
	c.qc.CloseWithError(uint64(e.Code), e.Reason)
}

// acceptUni serves the peer's unidirectional streams until the
// connection ends.
func (c *conn) acceptUni(ctx context.Context) {
	for {
		s, err := c.qc.AcceptUniStream(ctx)
		if err != nil {
			return
		}
		go c.handleUni(s)
	}
}

// handleUni reads a unidirectional stream's type and serves it (RFC 9114,
// Section 6.2).
func (c *conn) handleUni(s *quic.Stream) {
	fr := newFrameReader(s)
	typ, err := fr.readVarint(true)
	if err != nil {
		return // closed before its type: nothing to do
	}
	switch typ {
	case streamControl, streamQPACKEncoder, streamQPACKDecoder:
		c.mu.Lock()
		dup := c.peerStreams[typ]
		c.peerStreams[typ] = true
		c.mu.Unlock()
		if dup {
			c.fail(errorf(ErrCodeStreamCreationError,
				"second stream of type %#x", typ))
			return
		}
	case streamPush:
		// This endpoint never sends MAX_PUSH_ID, so no push is allowed;
		// a client pushing is always wrong (Section 6.2.2).
		if c.isServer {
			c.fail(errorf(ErrCodeStreamCreationError, "push stream from a client"))
		} else {
			c.fail(errorf(ErrCodeIDError, "push stream without MAX_PUSH_ID"))
		}
		return
	default:
		// Unknown and reserved types are ignored (Section 6.2.3).
		s.CloseRead(uint64(ErrCodeStreamCreationError))
		return
	}
	switch typ {
	case streamControl:
		err = c.readControl(fr)
	case streamQPACKEncoder:
		err = readEncoderStream(fr.r)
	case streamQPACKDecoder:
		err = readDecoderStream(fr.r)
	}
	if errors.Is(err, io.EOF) {
		err = errorf(ErrCodeClosedCriticalStream, "critical stream %#x closed", typ)
	}
	var qe *quic.StreamError
	if errors.As(err, &qe) {
		err = errorf(ErrCodeClosedCriticalStream, "critical stream %#x reset", typ)
	}
	if err != nil && c.qc.Err() == nil {
		c.fail(err)
	}
}

// readControl reads the peer's control stream: SETTINGS first, then
// GOAWAY, MAX_PUSH_ID and CANCEL_PUSH; request frames are not allowed
// (Section 6.2.1).
func (c *conn) readControl(fr *frameReader) error {
	first := true
	for {
		typ, length, err := fr.next()
		if err != nil {
			return err
		}
		if first && typ != frameSettings {
			return errorf(ErrCodeMissingSettings, "control stream starts with frame %#x", typ)
		}
		switch {
		case typ == frameSettings:
			if !first {
				return errorf(ErrCodeFrameUnexpected, "second SETTINGS frame")
			}
			p, err := fr.payload(length, maxControlFrame)
			if err != nil {
				return err
			}
			s, err := parseSettings(p)
			if err != nil {
				return err
			}
			c.mu.Lock()
			c.peerSettings = s
			c.gotSettings = true
			close(c.settingsCh)
			c.mu.Unlock()
		case typ == frameGoaway:
			p, err := fr.payload(length, 8)
			if err != nil {
				return err
			}
			id, n := quic.ConsumeVarint(p)
			if n < 0 || n != len(p) {
				return errorf(ErrCodeFrameError, "malformed GOAWAY")
			}
			if err := c.onGoaway(id); err != nil {
				return err
			}
		case typ == frameMaxPushID || typ == frameCancelPush:
			if typ == frameMaxPushID && !c.isServer {
				return errorf(ErrCodeFrameUnexpected, "MAX_PUSH_ID from a server")
			}
			p, err := fr.payload(length, 8)
			if err != nil {
				return err
			}
			if _, n := quic.ConsumeVarint(p); n < 0 || n != len(p) {
				return errorf(ErrCodeFrameError, "malformed frame %#x", typ)
			}
			if typ == frameCancelPush {
				// No push was ever promised: any id is unknown.
				return errorf(ErrCodeIDError, "CANCEL_PUSH with no push allowed")
			}
		case typ == frameData, typ == frameHeaders, typ == framePushPromise,
			isHTTP2Frame(typ):
			return errorf(ErrCodeFrameUnexpected, "frame %#x on the control stream", typ)
		default:
			if err := fr.skip(length); err != nil {
				return err
			}
		}
		first = false
	}
}

// onGoaway records the peer's GOAWAY (Section 5.2). A server sends a
// client-initiated bidirectional stream id; ids may only go down.
func (c *conn) onGoaway(id uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.isServer && id%4 != 0 {
		return errorf(ErrCodeIDError, "GOAWAY with stream id %d", id)
	}
	if c.gotGoaway && id > c.goawayID {
		return errorf(ErrCodeIDError, "GOAWAY id went up from %d to %d",
			c.goawayID, id)
	}
	c.goawayID = id
	if !c.gotGoaway {
		c.gotGoaway = true
		close(c.goawayCh)
	}
	return nil
}

// sendGoaway writes GOAWAY with id on the control stream.
func (c *conn) sendGoaway(id uint64) error {
	c.mu.Lock()
	ctrl := c.ctrl
	c.mu.Unlock()
	if ctrl == nil {
		return nil
	}
	_, err := ctrl.Write(appendFrame(nil, frameGoaway, quic.AppendVarint(nil, id)))
	return err
}

// peerMaxFieldSection returns the peer's field section limit, once known.
func (c *conn) peerMaxFieldSection() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerSettings.maxFieldSectionSize
}

// readEncoderStream checks the peer's QPACK encoder stream. With a
// dynamic table capacity of 0, the only valid instruction is Set
// Dynamic Table Capacity to 0 (RFC 9204, Section 4.3).
func readEncoderStream(r io.ByteReader) error {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return err
		}
		if c&0xe0 != 0x20 {
			return errorf(ErrCodeQPACKEncoderStreamError,
				"insertion with a table capacity of 0")
		}
		v, err := readStreamInt(r, c, 5)
		if err != nil {
			return err
		}
		if v != 0 {
			return errorf(ErrCodeQPACKEncoderStreamError,
				"table capacity %d above the maximum of 0", v)
		}
	}
}

// readDecoderStream checks the peer's QPACK decoder stream. This side
// never references the dynamic table, so Section Acknowledgment and
// Insert Count Increment are errors; Stream Cancellation is fine
// (RFC 9204, Section 4.4).
func readDecoderStream(r io.ByteReader) error {
	for {
		c, err := r.ReadByte()
		if err != nil {
			return err
		}
		switch {
		case c&0x80 != 0:
			return errorf(ErrCodeQPACKDecoderStreamError,
				"Section Acknowledgment for a section with no dynamic references")
		case c&0x40 != 0:
			if _, err := readStreamInt(r, c, 6); err != nil {
				return err
			}
		default:
			return errorf(ErrCodeQPACKDecoderStreamError,
				"Insert Count Increment with no insertions")
		}
	}
}

// readStreamInt reads the rest of a prefixed integer whose first byte c
// was read already.
func readStreamInt(r io.ByteReader, c byte, n uint) (uint64, error) {
	b := []byte{c}
	for {
		v, _, err := readPrefixInt(b, n)
		if err == nil {
			return v, nil
		}
		if len(b) > 10 {
			return 0, errorf(ErrCodeQPACKDecoderStreamError, "integer too long")
		}
		x, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		b = append(b, x)
	}
}
