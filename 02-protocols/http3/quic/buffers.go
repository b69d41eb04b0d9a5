package quic

// recvBuffer reassembles a byte stream from frames that may arrive out
// of order, duplicated or overlapping: the data of a stream or of the
// CRYPTO frames at one encryption level. It holds the bytes from the
// read offset to the highest offset received; flow control bounds how
// far that is.
type recvBuffer struct {
	buf     []byte // buf[start:] holds the bytes from readOff on
	start   int
	readOff uint64
	have    rangeSet // received offsets at or above readOff
}

// write stores data received at offset off.
func (r *recvBuffer) write(off uint64, data []byte) {
	end := off + uint64(len(data))
	if end <= r.readOff || len(data) == 0 {
		return
	}
	if off < r.readOff {
		data = data[r.readOff-off:]
		off = r.readOff
	}
	need := r.start + int(end-r.readOff)
	if need > len(r.buf) {
		if r.start > 0 && need > cap(r.buf) {
			// Move the unread bytes down before growing.
			n := copy(r.buf, r.buf[r.start:])
			r.buf = r.buf[:n]
			need -= r.start
			r.start = 0
		}
		if need > cap(r.buf) {
			grown := make([]byte, need, max(need, 2*cap(r.buf)))
			copy(grown, r.buf)
			r.buf = grown
		} else {
			r.buf = r.buf[:need]
		}
	}
	copy(r.buf[r.start+int(off-r.readOff):], data)
	r.have.add(off, end)
}

// readable returns how many bytes can be read in order now.
func (r *recvBuffer) readable() int {
	if len(r.have) == 0 || r.have[0].start != r.readOff {
		return 0
	}
	return int(r.have[0].end - r.readOff)
}

// peek returns the bytes readable in order, without consuming them.
func (r *recvBuffer) peek() []byte {
	return r.buf[r.start : r.start+r.readable()]
}

// read copies readable bytes into p and consumes them.
func (r *recvBuffer) read(p []byte) int {
	n := copy(p, r.peek())
	r.consume(n)
	return n
}

func (r *recvBuffer) consume(n int) {
	r.start += n
	r.readOff += uint64(n)
	r.have.removeBelow(r.readOff)
	if r.start == len(r.buf) {
		r.start = 0
		r.buf = r.buf[:0]
	}
}

// buffered returns the bytes held past the read offset, in order or not.
func (r *recvBuffer) buffered() int { return len(r.buf) - r.start }

// sendBuffer holds the bytes of a stream (or of the CRYPTO frames at one
// level) from the lowest unacknowledged offset to the last byte written,
// and which ranges were sent, acknowledged or lost.
type sendBuffer struct {
	buf   []byte // buf[start:] holds the bytes from base on
	start int
	base  uint64   // everything below is acknowledged
	next  uint64   // lowest offset never sent
	acked rangeSet // acknowledged ranges above base
	lost  rangeSet // ranges to send again
}

// end returns the offset after the last byte written.
func (s *sendBuffer) end() uint64 { return s.base + uint64(len(s.buf)-s.start) }

// unacked returns how many written bytes are not yet acknowledged.
func (s *sendBuffer) unacked() int { return len(s.buf) - s.start }

func (s *sendBuffer) write(p []byte) {
	if s.start > 0 && len(s.buf)+len(p) > cap(s.buf) {
		n := copy(s.buf, s.buf[s.start:])
		s.buf = s.buf[:n]
		s.start = 0
	}
	s.buf = append(s.buf, p...)
}

// bytes returns the data in [off, off+n); the range must be held.
func (s *sendBuffer) bytes(off uint64, n int) []byte {
	i := s.start + int(off-s.base)
	return s.buf[i : i+n]
}

// ack records that [off, end) arrived, and frees the acknowledged
// prefix.
func (s *sendBuffer) ack(off, end uint64) {
	if end <= s.base {
		return
	}
	s.acked.add(max(off, s.base), end)
	s.lost.sub(off, end)
	if len(s.acked) > 0 && s.acked[0].start <= s.base {
		n := s.acked[0].end - s.base
		s.start += int(n)
		s.base = s.acked[0].end
		s.acked.removeBelow(s.base)
		if s.start == len(s.buf) {
			s.start = 0
			s.buf = s.buf[:0]
		}
	}
}

// loss marks [off, end) for sending again, except what was acknowledged
// meanwhile.
func (s *sendBuffer) loss(off, end uint64) {
	off = max(off, s.base)
	for off < end {
		// Skip acknowledged parts.
		next := end
		skip := false
		for _, r := range s.acked {
			if r.start <= off && off < r.end {
				off = r.end
				skip = true
				break
			}
			if r.start > off && r.start < next {
				next = r.start
			}
		}
		if skip {
			continue
		}
		s.lost.add(off, next)
		off = next
	}
}

// pending reports whether there is data to send: lost or new.
func (s *sendBuffer) pending() bool { return len(s.lost) > 0 || s.next < s.end() }

// nextRange returns the next range to send, at most n bytes: lost data
// first, then new data up to limit (a flow-control offset). retx says the
// range is a retransmission.
func (s *sendBuffer) nextRange(n int, limit uint64) (off uint64, size int, retx bool) {
	if len(s.lost) > 0 {
		r := s.lost[0]
		size = int(min(uint64(n), r.end-r.start))
		s.lost.sub(r.start, r.start+uint64(size))
		return r.start, size, true
	}
	end := min(s.end(), limit)
	if s.next >= end {
		return s.next, 0, false
	}
	size = int(min(uint64(n), end-s.next))
	off = s.next
	s.next += uint64(size)
	return off, size, false
}
