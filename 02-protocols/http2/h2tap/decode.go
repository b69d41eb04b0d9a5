package h2tap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// ErrNotHTTP2 means the client's first bytes were not the HTTP/2
// connection preface: an HTTP/1.1 request, say. The tap then relays the
// connection without decoding it.
var ErrNotHTTP2 = errors.New("h2tap: not the HTTP/2 connection preface")

// MaxHeaderBlock bounds a header block assembled from HEADERS and
// CONTINUATION frames. HTTP/2 itself has no limit; servers advertise one
// with SETTINGS_MAX_HEADER_LIST_SIZE, and net/http's default is about 1 MB.
const MaxHeaderBlock = 1 << 20

// frameHeaderLen is the fixed 9-byte frame header (RFC 9113 section 4.1).
const frameHeaderLen = 9

// defaultTableSize is SETTINGS_HEADER_TABLE_SIZE until a SETTINGS frame
// says otherwise (RFC 9113 section 6.5.2).
const defaultTableSize = 4096

// Decoder reads and decodes the frames of one direction of an HTTP/2
// connection. A connection needs two, made by NewDecoders, because the
// HPACK table size one side may use is set by the other side's SETTINGS.
// A Decoder is not safe for concurrent use; its two halves may run in
// different goroutines.
type Decoder struct {
	dir     Direction
	maxData int
	preface bool // still expecting the client preface
	peer    *Decoder

	buf []byte
	rd  bytes.Reader
	fr  *http2.Framer
	hp  *hpack.Decoder

	block    []byte // the header block being assembled
	inBlock  bool
	blockErr error // set when the block outgrew MaxHeaderBlock

	// allowed is the dynamic table size the receiver of this direction
	// announced in SETTINGS, or -1 when nothing new was announced. It is
	// written by the peer Decoder, hence atomic.
	allowed atomic.Int64
}

// NewDecoder returns a decoder for one direction. The client's direction
// starts with the 24-byte preface. maxData is how many bytes of each DATA
// payload to keep in Frame.Data.
func NewDecoder(dir Direction, maxData int) *Decoder {
	d := &Decoder{dir: dir, maxData: maxData, preface: dir == ClientToServer}
	d.fr = http2.NewFramer(io.Discard, &d.rd)
	// Every length a 24-bit field can carry is legal to read here: the tap
	// watches and does not enforce the peers' SETTINGS_MAX_FRAME_SIZE.
	d.fr.SetMaxReadFrameSize(1<<24 - 1)
	d.hp = hpack.NewDecoder(defaultTableSize, nil)
	d.allowed.Store(-1)
	return d
}

// NewDecoders returns the two decoders of one connection, linked so that
// SETTINGS_HEADER_TABLE_SIZE seen in one direction applies to the header
// blocks of the other.
func NewDecoders(maxData int) (toServer, toClient *Decoder) {
	toServer = NewDecoder(ClientToServer, maxData)
	toClient = NewDecoder(ServerToClient, maxData)
	toServer.peer, toClient.peer = toClient, toServer
	return toServer, toClient
}

// grow returns d.buf resized to n bytes, keeping its contents.
func (d *Decoder) grow(n int) []byte {
	if cap(d.buf) < n {
		nb := make([]byte, n, max(n, 2*cap(d.buf)))
		copy(nb, d.buf)
		d.buf = nb
	}
	d.buf = d.buf[:n]
	return d.buf
}

// Next reads one frame (or, first in the client's direction, the
// preface) from r and decodes it. raw holds the bytes read, valid until
// the next call, whatever happened: a relay forwards them unchanged.
// A frame that cannot be decoded is returned with Frame.Err set and a nil
// error, because the stream of frames is still intact (a frame's length
// is always readable). err is the read error (io.EOF at a clean end), or
// ErrNotHTTP2 when the preface is wrong.
func (d *Decoder) Next(r io.Reader) (f Frame, raw []byte, err error) {
	f.Dir = d.dir
	if d.preface {
		return d.readPreface(r)
	}
	hdr := d.grow(frameHeaderLen)
	if n, err := io.ReadFull(r, hdr); err != nil {
		return f, hdr[:n], err
	}
	length := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
	buf := d.grow(frameHeaderLen + length)
	if n, err := io.ReadFull(r, buf[frameHeaderLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return f, buf[:frameHeaderLen+n], err
	}
	f.At = time.Now()
	d.decode(&f, buf)
	return f, buf, nil
}

// readPreface reads the client preface byte by byte as it arrives, so
// that a client which sent something shorter (an HTTP/1.1 request) and
// waits for an answer is detected instead of waited on forever.
func (d *Decoder) readPreface(r io.Reader) (Frame, []byte, error) {
	d.preface = false
	f := Frame{Dir: d.dir, Preface: true}
	want := http2.ClientPreface
	buf := d.grow(len(want))
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if string(buf[:n]) != want[:n] {
			f.Err = ErrNotHTTP2
			return f, buf[:n], ErrNotHTTP2
		}
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return f, buf[:n], err
		}
	}
	f.At = time.Now()
	return f, buf, nil
}

// decode fills f from one complete frame in buf.
func (d *Decoder) decode(f *Frame, buf []byte) {
	d.rd.Reset(buf)
	fh, err := d.fr.ReadFrameHeader()
	f.Header = fh
	var fr http2.Frame
	if err == nil { // else a CONTINUATION out of order
		fr, err = d.fr.ReadFrameForHeader(fh)
	}
	if err != nil {
		f.Err = d.frameErr(err)
		if fh.Type == http2.FrameHeaders || fh.Type == http2.FrameContinuation ||
			fh.Type == http2.FramePushPromise {
			// The receiver's HPACK state now differs from ours; so will
			// every later block's decoding, and each will say so.
			d.inBlock, d.block = false, d.block[:0]
		}
		return
	}
	switch fr := fr.(type) {
	case *http2.DataFrame:
		p := fr.Data()
		f.DataLen = len(p)
		f.Data = append([]byte(nil), p[:min(len(p), d.maxData)]...)
	case *http2.HeadersFrame:
		if fr.HasPriority() {
			f.Priority = fr.Priority
		}
		d.startBlock(f, fr.HeaderBlockFragment(), fr.HeadersEnded())
	case *http2.PushPromiseFrame:
		f.PromiseID = fr.PromiseID
		d.startBlock(f, fr.HeaderBlockFragment(), fr.HeadersEnded())
	case *http2.ContinuationFrame:
		d.addBlock(f, fr.HeaderBlockFragment(), fr.HeadersEnded())
	case *http2.SettingsFrame:
		fr.ForeachSetting(func(s http2.Setting) error {
			f.Settings = append(f.Settings, s)
			if s.ID == http2.SettingHeaderTableSize && !fr.IsAck() &&
				d.peer != nil {
				d.peer.allowed.Store(int64(s.Val))
			}
			return nil
		})
	case *http2.WindowUpdateFrame:
		f.Increment = fr.Increment
	case *http2.RSTStreamFrame:
		f.ErrCode = fr.ErrCode
	case *http2.GoAwayFrame:
		f.LastID, f.ErrCode = fr.LastStreamID, fr.ErrCode
		f.Debug = append([]byte(nil), fr.DebugData()...)
	case *http2.PingFrame:
		f.PingData = fr.Data
	case *http2.PriorityFrame:
		f.Priority = fr.PriorityParam
	}
}

// frameErr adds the framer's detail to a connection error.
func (d *Decoder) frameErr(err error) error {
	if detail := d.fr.ErrorDetail(); detail != nil {
		return fmt.Errorf("%w: %v", err, detail)
	}
	return err
}

func (d *Decoder) startBlock(f *Frame, frag []byte, end bool) {
	d.inBlock, d.blockErr = true, nil
	d.block = d.block[:0]
	d.addBlock(f, frag, end)
}

// addBlock appends a fragment and decodes the block when it ends.
func (d *Decoder) addBlock(f *Frame, frag []byte, end bool) {
	if !d.inBlock { // the framer rejects this already; be safe
		f.Err = errors.New("CONTINUATION without a header block")
		return
	}
	if d.blockErr == nil && len(d.block)+len(frag) > MaxHeaderBlock {
		d.blockErr = fmt.Errorf("header block larger than %d bytes",
			MaxHeaderBlock)
		d.block = d.block[:0]
	}
	if d.blockErr == nil {
		d.block = append(d.block, frag...)
	}
	if !end {
		return
	}
	d.inBlock = false
	if d.blockErr != nil {
		f.Err = d.blockErr
		return
	}
	if n := d.allowed.Swap(-1); n >= 0 {
		d.hp.SetAllowedMaxDynamicTableSize(uint32(n))
	}
	f.BlockLen = len(d.block)
	f.TableSizes = tableSizeUpdates(d.block)
	fields, err := d.hp.DecodeFull(d.block)
	if err != nil {
		f.Err = fmt.Errorf("hpack: %w", err)
		return
	}
	if fields == nil {
		fields = []hpack.HeaderField{}
	}
	f.Fields = fields
}

// tableSizeUpdates reads the dynamic table size updates at the start of
// a header block: each is 001 and a 5-bit-prefix integer (RFC 7541
// sections 5.1 and 6.3). The hpack decoder applies them without saying.
func tableSizeUpdates(b []byte) []uint32 {
	var out []uint32
	for len(b) > 0 && b[0]&0xe0 == 0x20 {
		v := uint64(b[0] & 0x1f)
		i := 1
		if v == 0x1f {
			for shift := 0; ; shift += 7 {
				if i == len(b) || shift > 28 {
					return out // malformed; the decoder will say so
				}
				c := b[i]
				i++
				v += uint64(c&0x7f) << shift
				if c < 0x80 {
					break
				}
			}
		}
		if v > 1<<32-1 {
			return out
		}
		out = append(out, uint32(v))
		b = b[i:]
	}
	return out
}
