package ice

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Session is a session description in the shape of RFC 8866: a session
// section and media sections, each a list of "<type>=<value>" lines.
// Parse keeps the lines it does not interpret (i=, u=, b=, ...) so that
// Marshal writes back what it read.
type Session struct {
	Origin Origin
	Name   string // s=
	// Lines holds the session-level lines other than v=, o=, s= and a=,
	// in order, such as "c=IN IP4 192.0.2.3" and "t=0 0".
	Lines      []Line
	Attributes []Attribute
	Media      []*Media
}

// Origin is the o= line: username, session id and version, and the
// address of the machine that made the description (section 5.2).
type Origin struct {
	Username, SessionID, SessionVersion string
	NetType, AddrType, Address          string
}

// Media is one media section, from its m= line (section 5.14).
type Media struct {
	Type    string   // audio, video, application
	Port    int      // the default candidate's port, or 9 (discard)
	Proto   string   // UDP/DTLS/SCTP, RTP/AVP, udp, ...
	Formats []string // at least one
	// Lines holds the section's lines other than m= and a=, in order.
	Lines      []Line
	Attributes []Attribute
}

// Line is a line of a type this package keeps but does not interpret.
type Line struct {
	Type  byte
	Value string
}

// Attribute is an a= line: "a=name" or "a=name:value" (section 5.13).
type Attribute struct {
	Name, Value string
	Flag        bool // a property attribute, "a=name" with no colon
}

// Bounds on what Parse accepts: session descriptions come from the
// network, through the signaling server.
const (
	MaxSDP      = 64 << 10 // bytes
	MaxSDPLines = 1024
	MaxMedia    = 32
)

// ErrSDP reports a description that does not follow RFC 8866.
var ErrSDP = errors.New("ice: bad session description")

func badSDP(line int, format string, args ...any) error {
	return fmt.Errorf("%w: line %d: "+format, append([]any{ErrSDP, line}, args...)...)
}

// sessionTypes and mediaTypes are the line types each level may hold
// (section 9); an SDP parser must refuse a description with a type it
// does not know (section 5).
const (
	sessionTypes = "vosiuepcbtrzka"
	mediaTypes   = "icbka"
)

// Parse reads a session description. Lines end in CRLF, or in LF alone
// (section 5 asks parsers to be tolerant of that). It checks the order
// of the first lines (v=0, o= with six fields, s=), that t= comes before
// the first m=, and every m= line's fields; it keeps other lines as they
// are.
func Parse(b []byte) (*Session, error) {
	if len(b) > MaxSDP {
		return nil, fmt.Errorf("%w: %d bytes, over %d", ErrSDP, len(b), MaxSDP)
	}
	text := string(b)
	text = strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")
	if text == "" {
		return nil, fmt.Errorf("%w: empty", ErrSDP)
	}
	raw := strings.Split(text, "\n")
	if len(raw) > MaxSDPLines {
		return nil, fmt.Errorf("%w: %d lines, over %d", ErrSDP, len(raw), MaxSDPLines)
	}
	s := &Session{}
	var m *Media
	sawTime := false
	for i, l := range raw {
		n := i + 1
		l = strings.TrimSuffix(l, "\r")
		if len(l) < 2 || l[1] != '=' {
			return nil, badSDP(n, "%q is not <type>=<value>", clip(l))
		}
		if strings.ContainsAny(l, "\x00\r") {
			return nil, badSDP(n, "NUL or CR inside a line")
		}
		typ, value := l[0], l[2:]
		switch {
		case n == 1:
			if l != "v=0" {
				return nil, badSDP(n, "want v=0, got %q", clip(l))
			}
			continue
		case n == 2:
			if typ != 'o' {
				return nil, badSDP(n, "want o=, got %q", clip(l))
			}
			f := strings.Split(value, " ")
			if len(f) != 6 || !nonEmpty(f) {
				return nil, badSDP(n, "o= wants 6 fields, got %q", clip(value))
			}
			s.Origin = Origin{f[0], f[1], f[2], f[3], f[4], f[5]}
			continue
		case n == 3:
			if typ != 's' || value == "" {
				return nil, badSDP(n, "want a non-empty s=, got %q", clip(l))
			}
			s.Name = value
			continue
		}
		switch {
		case typ == 'm':
			if !sawTime {
				return nil, badSDP(n, "m= before any t=")
			}
			if len(s.Media) == MaxMedia {
				return nil, badSDP(n, "more than %d media sections", MaxMedia)
			}
			var err error
			if m, err = parseMedia(value); err != nil {
				return nil, badSDP(n, "%v", err)
			}
			s.Media = append(s.Media, m)
		case m == nil && strings.IndexByte(sessionTypes, typ) < 0,
			m != nil && strings.IndexByte(mediaTypes, typ) < 0:
			return nil, badSDP(n, "type %q is not allowed here", typ)
		case typ == 'v' || typ == 'o' || typ == 's':
			return nil, badSDP(n, "a second %c= line", typ)
		case typ == 'a':
			a, err := parseAttribute(value)
			if err != nil {
				return nil, badSDP(n, "%v", err)
			}
			if m != nil {
				m.Attributes = append(m.Attributes, a)
			} else {
				s.Attributes = append(s.Attributes, a)
			}
		default:
			sawTime = sawTime || typ == 't'
			if m != nil {
				m.Lines = append(m.Lines, Line{typ, value})
			} else {
				s.Lines = append(s.Lines, Line{typ, value})
			}
		}
	}
	switch {
	case len(raw) < 3:
		return nil, fmt.Errorf("%w: want v=, o= and s= at least", ErrSDP)
	case !sawTime:
		return nil, fmt.Errorf("%w: no t= line", ErrSDP)
	}
	return s, nil
}

// parseMedia reads "<media> <port>[/<count>] <proto> <fmt> ...".
func parseMedia(v string) (*Media, error) {
	f := strings.Split(v, " ")
	if len(f) < 4 || !nonEmpty(f) {
		return nil, fmt.Errorf("m= wants media, port, proto and formats, got %q", clip(v))
	}
	port, _, _ := strings.Cut(f[1], "/")
	p, err := number(port, 5)
	if err != nil || p > 65535 {
		return nil, fmt.Errorf("m= port %q", f[1])
	}
	return &Media{Type: f[0], Port: int(p), Proto: f[2], Formats: f[3:]}, nil
}

// parseAttribute reads "name" or "name:value" (section 5.13).
func parseAttribute(v string) (Attribute, error) {
	name, value, ok := strings.Cut(v, ":")
	if !token(name) {
		return Attribute{}, fmt.Errorf("attribute name %q", clip(name))
	}
	return Attribute{Name: name, Value: value, Flag: !ok}, nil
}

// Marshal writes the description with CRLF line ends.
func (s *Session) Marshal() []byte {
	var b bytes.Buffer
	o := s.Origin
	fmt.Fprintf(&b, "v=0\r\no=%s %s %s %s %s %s\r\ns=%s\r\n", o.Username,
		o.SessionID, o.SessionVersion, o.NetType, o.AddrType, o.Address, s.Name)
	writeLines(&b, s.Lines, s.Attributes)
	for _, m := range s.Media {
		fmt.Fprintf(&b, "m=%s %d %s %s\r\n", m.Type, m.Port, m.Proto,
			strings.Join(m.Formats, " "))
		writeLines(&b, m.Lines, m.Attributes)
	}
	return b.Bytes()
}

func writeLines(b *bytes.Buffer, lines []Line, attrs []Attribute) {
	for _, l := range lines {
		fmt.Fprintf(b, "%c=%s\r\n", l.Type, l.Value)
	}
	for _, a := range attrs {
		if a.Flag {
			fmt.Fprintf(b, "a=%s\r\n", a.Name)
		} else {
			fmt.Fprintf(b, "a=%s:%s\r\n", a.Name, a.Value)
		}
	}
}

// Attr returns the value of the first attribute called name.
func Attr(attrs []Attribute, name string) (string, bool) {
	for _, a := range attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// Params are what ICE needs from a peer's description: credentials and
// candidates (RFC 8839 section 5).
type Params struct {
	Ufrag, Pwd string
	Candidates []Candidate
	Lite       bool     // a=ice-lite: the peer only answers checks
	Options    []string // a=ice-options, such as ice2 or trickle
}

// ICE reads the ICE attributes of media section i: ice-ufrag and
// ice-pwd from the media section or else the session, the candidates of
// the media section, ice-lite and ice-options. It checks the credentials'
// grammar (a ufrag of 4 to 256 ice-chars, a password of 22 to 256) and
// every candidate line.
func (s *Session) ICE(i int) (Params, error) {
	var p Params
	if i < 0 || i >= len(s.Media) {
		return p, fmt.Errorf("%w: no media section %d", ErrSDP, i)
	}
	m := s.Media[i]
	get := func(name string) (string, bool) {
		if v, ok := Attr(m.Attributes, name); ok {
			return v, true
		}
		return Attr(s.Attributes, name)
	}
	var ok bool
	if p.Ufrag, ok = get("ice-ufrag"); !ok || !validCredential(p.Ufrag, 4) {
		return p, fmt.Errorf("%w: ice-ufrag %q", ErrSDP, clip(p.Ufrag))
	}
	if p.Pwd, ok = get("ice-pwd"); !ok || !validCredential(p.Pwd, 22) {
		return p, fmt.Errorf("%w: ice-pwd missing or not 22 to 256 ice-chars", ErrSDP)
	}
	_, p.Lite = Attr(s.Attributes, "ice-lite")
	if v, ok := get("ice-options"); ok {
		p.Options = strings.Fields(v)
	}
	for _, a := range m.Attributes {
		if a.Name != "candidate" {
			continue
		}
		c, err := ParseCandidate("candidate:" + a.Value)
		if err != nil {
			return p, err
		}
		p.Candidates = append(p.Candidates, c)
	}
	return p, nil
}

// SetICE puts p's credentials and candidates on media section m,
// replacing any there.
func (m *Media) SetICE(p Params) {
	keep := m.Attributes[:0:0]
	for _, a := range m.Attributes {
		switch a.Name {
		case "ice-ufrag", "ice-pwd", "candidate":
		default:
			keep = append(keep, a)
		}
	}
	keep = append(keep, Attribute{Name: "ice-ufrag", Value: p.Ufrag},
		Attribute{Name: "ice-pwd", Value: p.Pwd})
	for _, c := range p.Candidates {
		keep = append(keep, Attribute{Name: "candidate",
			Value: strings.TrimPrefix(c.String(), "candidate:")})
	}
	m.Attributes = keep
}

func validCredential(s string, minLen int) bool {
	return len(s) >= minLen && len(s) <= 256 && iceChars(s)
}

func nonEmpty(f []string) bool {
	for _, x := range f {
		if x == "" {
			return false
		}
	}
	return true
}

// clip shortens what an error quotes from the network.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
