package quic

// span is a half-open interval [start, end) of packet numbers or stream
// offsets.
type span struct{ start, end uint64 }

// rangeSet is a set of numbers kept as sorted, disjoint, non-adjacent
// spans. It records received packet numbers (for ACK frames), and
// acknowledged and lost byte ranges of a stream's send buffer.
type rangeSet []span

// add inserts [start, end).
func (s *rangeSet) add(start, end uint64) {
	if start >= end {
		return
	}
	rs := *s
	// Fast path: append at the end, the usual case for packet numbers
	// and in-order data.
	if n := len(rs); n == 0 || rs[n-1].end < start {
		*s = append(rs, span{start, end})
		return
	} else if rs[n-1].start <= start {
		rs[n-1].end = max(rs[n-1].end, end)
		return
	}
	// Find the first span that ends at or after start.
	i := 0
	for i < len(rs) && rs[i].end < start {
		i++
	}
	// Merge every span that overlaps or touches [start, end).
	j := i
	for j < len(rs) && rs[j].start <= end {
		start = min(start, rs[j].start)
		end = max(end, rs[j].end)
		j++
	}
	if i == j {
		rs = append(rs, span{})
		copy(rs[i+1:], rs[i:])
		rs[i] = span{start, end}
	} else {
		rs[i] = span{start, end}
		rs = append(rs[:i+1], rs[j:]...)
	}
	*s = rs
}

// contains reports whether v is in the set.
func (s rangeSet) contains(v uint64) bool {
	for i := len(s) - 1; i >= 0; i-- {
		if v >= s[i].start {
			return v < s[i].end
		}
	}
	return false
}

// removeBelow deletes every number below v.
func (s *rangeSet) removeBelow(v uint64) {
	rs := *s
	i := 0
	for i < len(rs) && rs[i].end <= v {
		i++
	}
	// Shift down in place, so appends reuse the array.
	n := copy(rs, rs[i:])
	rs = rs[:n]
	if len(rs) > 0 && rs[0].start < v {
		rs[0].start = v
	}
	*s = rs
}

// sub deletes [start, end).
func (s *rangeSet) sub(start, end uint64) {
	if start >= end {
		return
	}
	var out rangeSet
	for _, r := range *s {
		if r.end <= start || r.start >= end {
			out = append(out, r)
			continue
		}
		if r.start < start {
			out = append(out, span{r.start, start})
		}
		if r.end > end {
			out = append(out, span{end, r.end})
		}
	}
	*s = out
}

// min returns the smallest number in the set; ok is false if it is empty.
func (s rangeSet) min() (uint64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	return s[0].start, true
}

// max returns the largest number in the set.
func (s rangeSet) max() (uint64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	return s[len(s)-1].end - 1, true
}

// covers reports whether [start, end) is entirely in the set.
func (s rangeSet) covers(start, end uint64) bool {
	for _, r := range s {
		if r.start <= start && end <= r.end {
			return true
		}
	}
	return start >= end
}
