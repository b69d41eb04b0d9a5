package h3

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// isConnError reports codes that close the whole connection rather than
// one request stream.
func isConnError(code ErrCode) bool {
	switch code {
	case ErrCodeFrameUnexpected, ErrCodeFrameError, ErrCodeIDError,
		ErrCodeSettingsError, ErrCodeMissingSettings,
		ErrCodeClosedCriticalStream, ErrCodeStreamCreationError,
		ErrCodeQPACKDecompressionFailed, ErrCodeQPACKEncoderStreamError,
		ErrCodeQPACKDecoderStreamError:
		return true
	}
	return false
}

// readHeaders reads frames on a request stream up to the first HEADERS
// frame and decodes it; reserved and unknown frames before it are
// skipped, DATA before it is H3_FRAME_UNEXPECTED (RFC 9114, Section 4.1).
func readHeaders(fr *frameReader, max uint64, isServer bool) ([]headerField, error) {
	for {
		typ, length, err := fr.next()
		if err != nil {
			return nil, err
		}
		switch {
		case typ == frameHeaders:
			p, err := fr.payload(length, max)
			if err != nil {
				return nil, err
			}
			return decodeFields(p, max)
		case typ == framePushPromise && !isServer:
			return nil, errorf(ErrCodeIDError, "PUSH_PROMISE without MAX_PUSH_ID")
		case typ == frameData, typ == frameSettings, typ == frameGoaway,
			typ == frameMaxPushID, typ == frameCancelPush,
			typ == framePushPromise, isHTTP2Frame(typ):
			return nil, errorf(ErrCodeFrameUnexpected,
				"frame %#x before HEADERS on a request stream", typ)
		default:
			if err := fr.skip(length); err != nil {
				return nil, err
			}
		}
	}
}

// body reads the DATA frames of a request or response stream as a byte
// stream, then an optional trailer HEADERS frame.
type body struct {
	fr       *frameReader
	max      uint64 // field section limit for trailers
	isServer bool
	left     uint64 // bytes left in the current DATA frame
	remain   int64  // Content-Length still expected, -1 if unknown
	onErr    func(error)
	close    func() // abandon the rest of the stream

	err     error // sticky; only the reading goroutine touches it
	closed  atomic.Bool
	mu      sync.Mutex
	trailer http.Header
}

// Read reads the body. One goroutine reads; Close may come from another.
func (b *body) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errors.New("h3: read on closed body")
	}
	for b.left == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if err := b.nextFrame(); err != nil {
			b.err = err
			if !errors.Is(err, io.EOF) && b.onErr != nil {
				b.onErr(err)
			}
			return 0, err
		}
	}
	if uint64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.fr.r.Read(p)
	b.left -= uint64(n)
	if b.remain >= 0 {
		b.remain -= int64(n)
	}
	if err != nil && n == 0 {
		if errors.Is(err, io.EOF) {
			err = errorf(ErrCodeFrameError, "stream ends inside a DATA frame")
		}
		b.err = err
		if b.onErr != nil {
			b.onErr(err)
		}
		return 0, err
	}
	return n, nil
}

// nextFrame moves to the next DATA frame, or to the end of the message.
func (b *body) nextFrame() error {
	typ, length, err := b.fr.next()
	if errors.Is(err, io.EOF) {
		if b.remain > 0 {
			return malformed("body shorter than content-length")
		}
		return io.EOF
	}
	if err != nil {
		return err
	}
	switch {
	case typ == frameData:
		if b.remain >= 0 && int64(length) > b.remain {
			return malformed("body longer than content-length")
		}
		b.left = length
		return nil
	case typ == frameHeaders:
		p, err := b.fr.payload(length, b.max)
		if err != nil {
			return err
		}
		fields, err := decodeFields(p, b.max)
		if err != nil {
			return err
		}
		t, err := trailerFromFields(fields)
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.trailer = t
		b.mu.Unlock()
		if b.remain > 0 {
			return malformed("body shorter than content-length")
		}
		// Nothing may follow the trailers but reserved frames.
		for {
			typ, length, err := b.fr.next()
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			if err != nil {
				return err
			}
			if typ == frameData || typ == frameHeaders {
				return errorf(ErrCodeFrameUnexpected, "frame after trailers")
			}
			if err := b.fr.skip(length); err != nil {
				return err
			}
		}
	case typ == framePushPromise && !b.isServer:
		return errorf(ErrCodeIDError, "PUSH_PROMISE without MAX_PUSH_ID")
	case typ == frameSettings, typ == frameGoaway, typ == frameMaxPushID,
		typ == frameCancelPush, typ == framePushPromise, isHTTP2Frame(typ):
		return errorf(ErrCodeFrameUnexpected, "frame %#x on a request stream", typ)
	default:
		return b.fr.skip(length)
	}
}

// Close abandons the rest of the body.
func (b *body) Close() error {
	if !b.closed.Swap(true) && b.close != nil {
		b.close()
	}
	return nil
}

// trailers returns the trailer fields, once the body was read to EOF.
func (b *body) trailers() http.Header {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.trailer
}
