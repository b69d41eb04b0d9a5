package h1

import "strings"

// Field is one header or trailer field line: a name and its value with
// the surrounding whitespace removed (RFC 9112 section 5).
type Field struct {
	Name, Value string
}

// Header is a message's field lines in the order they arrived. Names
// compare case-insensitively; repeated names are kept as separate fields,
// as they were sent. A slice keeps parsing free of maps and allocations.
type Header []Field

// Get returns the value of the first field called name, or "".
func (h Header) Get(name string) string {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			return h[i].Value
		}
	}
	return ""
}

// Has reports whether a field called name is present.
func (h Header) Has(name string) bool {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			return true
		}
	}
	return false
}

// Values returns the values of every field called name, in order.
func (h Header) Values(name string) []string {
	var vs []string
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			vs = append(vs, h[i].Value)
		}
	}
	return vs
}

// Add appends a field.
func (h *Header) Add(name, value string) {
	*h = append(*h, Field{name, value})
}

// Set replaces every field called name with one field.
func (h *Header) Set(name, value string) {
	h.Del(name)
	h.Add(name, value)
}

// Del removes every field called name.
func (h *Header) Del(name string) {
	out := (*h)[:0]
	for _, f := range *h {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	clear((*h)[len(out):])
	*h = out
}

// HasToken reports whether any field called name holds token in its
// comma-separated list, compared case-insensitively: Connection: close,
// Upgrade: websocket, Expect: 100-continue (RFC 9110 section 5.6.1).
func (h Header) HasToken(name, token string) bool {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) && listHas(h[i].Value, token) {
			return true
		}
	}
	return false
}

// listHas reports whether the comma-separated list holds token.
func listHas(list, token string) bool {
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, ",")
		if strings.EqualFold(trimOWS(item), token) {
			return true
		}
	}
	return false
}

// trimOWS removes optional whitespace (SP and HTAB) from both ends.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// Byte classes, from RFC 9110 section 5.6.2 (token) and 5.5 (field
// values), as a table so the parser tests a byte with one load.
const (
	isToken  = 1 << iota // tchar
	isValue              // field-vchar, SP, HTAB (obs-text included)
	isTarget             // a byte allowed in a request-target
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0:
			t[c] |= isToken
		}
		if c == '\t' || c >= ' ' && c != 0x7f {
			t[c] |= isValue
		}
		// RFC 3986 characters only: visible ASCII. '#' never starts a
		// fragment on the wire, but some clients send it; it is harmless.
		if c > ' ' && c < 0x7f {
			t[c] |= isTarget
		}
	}
	return t
}()

// validToken reports whether s is a non-empty token.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if class[s[i]]&isToken == 0 {
			return false
		}
	}
	return true
}

// validValue reports whether s may be sent as a field value: no CR, LF,
// NUL or other control byte but HTAB, and no whitespace at either end.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if class[s[i]]&isValue == 0 {
			return false
		}
	}
	return s == trimOWS(s)
}
