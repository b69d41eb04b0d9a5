package ws

// utf8State validates UTF-8 across fragment boundaries, so a text
// message fails as soon as an invalid byte arrives rather than after
// the whole message (RFC 6455 section 8.1). The ranges are RFC 3629's:
// no overlong forms, no surrogates, nothing above U+10FFFF.
type utf8State struct {
	need   int  // continuation bytes still expected
	lo, hi byte // the range the next continuation byte must fall in
}

// feed checks p as the next bytes of the text and reports whether they
// can still be part of valid UTF-8.
func (s *utf8State) feed(p []byte) bool {
	i := 0
	for i < len(p) {
		if s.need == 0 {
			// Skip ASCII eight bytes at a time.
			for i+8 <= len(p) && (uint64(p[i])|uint64(p[i+1])|
				uint64(p[i+2])|uint64(p[i+3])|uint64(p[i+4])|
				uint64(p[i+5])|uint64(p[i+6])|uint64(p[i+7]))&0x80 == 0 {
				i += 8
			}
			if i == len(p) {
				break
			}
			c := p[i]
			i++
			switch {
			case c < 0x80:
				continue
			case c >= 0xC2 && c <= 0xDF:
				s.need, s.lo, s.hi = 1, 0x80, 0xBF
			case c == 0xE0:
				s.need, s.lo, s.hi = 2, 0xA0, 0xBF
			case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
				s.need, s.lo, s.hi = 2, 0x80, 0xBF
			case c == 0xED: // U+D000-U+D7FF: stops before the surrogates
				s.need, s.lo, s.hi = 2, 0x80, 0x9F
			case c == 0xF0:
				s.need, s.lo, s.hi = 3, 0x90, 0xBF
			case c >= 0xF1 && c <= 0xF3:
				s.need, s.lo, s.hi = 3, 0x80, 0xBF
			case c == 0xF4: // up to U+10FFFF
				s.need, s.lo, s.hi = 3, 0x80, 0x8F
			default:
				return false
			}
			continue
		}
		c := p[i]
		i++
		if c < s.lo || c > s.hi {
			return false
		}
		s.need--
		s.lo, s.hi = 0x80, 0xBF
	}
	return true
}

// complete reports whether the text so far ends on a character boundary.
func (s *utf8State) complete() bool { return s.need == 0 }
