package wire

// maxPending bounds the out-of-order bytes a stream holds while it waits
// for a gap to fill; past it, later bytes are dropped and the stream's
// records are no longer named.
const maxPending = 256 << 10

// stream puts one direction of a TCP connection back in order.
type stream struct {
	started bool
	next    uint32            // sequence number of the next byte in order
	pending map[uint32][]byte // segments beyond a gap, by sequence number
	held    int               // bytes in pending
	broken  bool              // a gap never filled and the buffer overflowed
}

// add takes a segment and returns the bytes it puts in order, if any: its
// own, after skipping what was already delivered (a retransmission), and
// those of held segments it makes contiguous.
func (s *stream) add(seg segment) []byte {
	seq, data := seg.seq, seg.payload
	if seg.flags&flagSYN != 0 {
		// The SYN takes one sequence number; its data (Fast Open)
		// starts after it.
		s.started, s.next = true, seq+1
		seq++
	}
	if !s.started {
		s.started, s.next = true, seq // joined mid-connection
	}
	if len(data) == 0 || s.broken {
		return nil
	}
	if d := int32(seq - s.next); d > 0 {
		if s.held+len(data) > maxPending {
			s.broken = true
			return nil
		}
		if s.pending == nil {
			s.pending = make(map[uint32][]byte)
		}
		if _, dup := s.pending[seq]; !dup {
			s.pending[seq] = append([]byte(nil), data...)
			s.held += len(data)
		}
		return nil
	}
	out := s.take(seq, data, nil)
	for progress := true; progress; {
		progress = false
		for at, b := range s.pending {
			if int32(at-s.next) <= 0 {
				delete(s.pending, at)
				s.held -= len(b)
				out = s.take(at, b, out)
				progress = true
			}
		}
	}
	return out
}

// take appends to out the part of data (which starts at seq, not after
// s.next) that is new, and advances s.next past it.
func (s *stream) take(seq uint32, data, out []byte) []byte {
	skip := int(s.next - seq)
	if skip >= len(data) {
		return out
	}
	data = data[skip:]
	s.next += uint32(len(data))
	return append(out, data...)
}
