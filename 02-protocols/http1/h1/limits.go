package h1

// Limits bound what a peer can make the parser hold. A zero field takes
// its default; see DefaultLimits.
type Limits struct {
	// MaxLine bounds the request line or status line; a longer request
	// line is refused with 414 URI Too Long.
	MaxLine int
	// MaxHeaderBytes bounds the whole header section (and, separately,
	// a trailer section); beyond it a request gets 431.
	MaxHeaderBytes int
	// MaxFields bounds the number of header (or trailer) field lines;
	// beyond it a request gets 431.
	MaxFields int
	// MaxBody bounds a message body; a larger Content-Length is refused
	// at once with 413, a chunked body fails when it passes the bound.
	MaxBody int64
	// MaxChunkLine bounds one chunk-size line with its extensions.
	MaxChunkLine int
}

// DefaultLimits are the limits a zero Limits field takes.
var DefaultLimits = Limits{
	MaxLine:        8 << 10,
	MaxHeaderBytes: 32 << 10,
	MaxFields:      100,
	MaxBody:        10 << 20,
	MaxChunkLine:   4 << 10,
}

// orDefault returns l with every zero field set to its default.
func (l Limits) orDefault() Limits {
	d := DefaultLimits
	if l.MaxLine > 0 {
		d.MaxLine = l.MaxLine
	}
	if l.MaxHeaderBytes > 0 {
		d.MaxHeaderBytes = l.MaxHeaderBytes
	}
	if l.MaxFields > 0 {
		d.MaxFields = l.MaxFields
	}
	if l.MaxBody > 0 {
		d.MaxBody = l.MaxBody
	}
	if l.MaxChunkLine > 0 {
		d.MaxChunkLine = l.MaxChunkLine
	}
	return d
}
