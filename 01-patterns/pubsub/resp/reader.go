package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Limits bound what a Reader accepts from the network.
type Limits struct {
	MaxBulk  int // bytes in one bulk string, error or verbatim string
	MaxElems int // elements in one array, set or push (pairs in a map)
	MaxDepth int // nesting of aggregates
	MaxLine  int // bytes in a simple value or an inline command line
	MaxArgs  int // words in one command
}

// DefaultLimits suit a broker: generous for messages, tight for abuse.
var DefaultLimits = Limits{MaxBulk: 1 << 20, MaxElems: 1 << 16, MaxDepth: 16,
	MaxLine: 64 << 10, MaxArgs: 1 << 10}

// ErrProtocol reports bytes that are not RESP; ErrTooLarge reports a
// length beyond the Reader's Limits. Both leave the stream unusable: the
// connection should be closed after replying with an error.
var (
	ErrProtocol = errors.New("resp: protocol error")
	ErrTooLarge = errors.New("resp: value exceeds limits")
)

// doubleSyntax is the spec's grammar for a double:
// [+|-]<integral>[.<fractional>][<E|e>[sign]<exponent>].
var doubleSyntax = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// Reader decodes RESP values and commands from a byte stream.
type Reader struct {
	r      *bufio.Reader
	limits Limits
}

// NewReader returns a Reader with DefaultLimits.
func NewReader(r io.Reader) *Reader { return NewReaderLimits(r, DefaultLimits) }

// NewReaderLimits returns a Reader with the given limits.
func NewReaderLimits(r io.Reader, l Limits) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 16<<10), limits: l}
}

// Buffered reports how many bytes are buffered and not yet decoded; a
// server uses it to batch replies to pipelined commands.
func (r *Reader) Buffered() int { return r.r.Buffered() }

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

// rawLine reads up to and including LF, within MaxLine. The slice is valid
// until the next read.
func (r *Reader) rawLine() ([]byte, error) {
	b, err := r.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(b) > r.limits.MaxLine+2 {
		return nil, fmt.Errorf("%w: line longer than %d bytes", ErrTooLarge, r.limits.MaxLine)
	}
	if err != nil && errors.Is(err, io.EOF) && len(b) > 0 {
		return nil, io.ErrUnexpectedEOF
	}
	return b, err
}

// line reads up to CRLF and returns the bytes before it.
func (r *Reader) line() ([]byte, error) {
	b, err := r.rawLine()
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[len(b)-2] != '\r' {
		return nil, protoErr("line not ended by CRLF")
	}
	return b[:len(b)-2], nil
}

// ReadValue reads one value of any type.
func (r *Reader) ReadValue() (Value, error) { return r.value(0) }

func (r *Reader) value(depth int) (Value, error) {
	if depth > r.limits.MaxDepth {
		return Value{}, fmt.Errorf("%w: nesting deeper than %d", ErrTooLarge, r.limits.MaxDepth)
	}
	l, err := r.line()
	if err != nil {
		return Value{}, err
	}
	if len(l) == 0 {
		return Value{}, protoErr("empty line where a value was expected")
	}
	kind, rest := Kind(l[0]), string(l[1:])
	v := Value{Kind: kind}
	switch kind {
	case SimpleString, Error:
		if strings.ContainsRune(rest, '\r') {
			return Value{}, protoErr("CR inside a simple value")
		}
		v.Str = rest
	case Integer:
		if v.Int, err = strconv.ParseInt(rest, 10, 64); err != nil {
			return Value{}, protoErr("bad integer %q", rest)
		}
	case BigNumber:
		digits := strings.TrimPrefix(strings.TrimPrefix(rest, "-"), "+")
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			return Value{}, protoErr("bad big number %q", rest)
		}
		v.Str = rest
	case Double:
		switch rest {
		case "inf":
			v.Float = math.Inf(1)
		case "-inf":
			v.Float = math.Inf(-1)
		case "nan":
			v.Float = math.NaN()
		default:
			if !doubleSyntax.MatchString(rest) {
				return Value{}, protoErr("bad double %q", rest)
			}
			// Too large a value parses as ±Inf with a range error: keep it.
			v.Float, _ = strconv.ParseFloat(rest, 64)
		}
		v.Str = rest
	case Boolean:
		if rest != "t" && rest != "f" {
			return Value{}, protoErr("bad boolean %q", rest)
		}
		v.Bool = rest == "t"
	case Null:
		if rest != "" {
			return Value{}, protoErr("bad null %q", rest)
		}
	case BulkString, BulkError, Verbatim:
		n, null, err := r.length(rest, r.limits.MaxBulk, kind == BulkString)
		if err != nil {
			return Value{}, err
		}
		if null {
			v.IsNull = true
			return v, nil
		}
		b, err := r.bulk(n)
		if err != nil {
			return Value{}, err
		}
		v.Str = string(b)
		if kind == Verbatim {
			if len(v.Str) < 4 || v.Str[3] != ':' {
				return Value{}, protoErr("verbatim string without a format")
			}
			v.Format, v.Str = v.Str[:3], v.Str[4:]
		}
	case Array, Set, Push, Map:
		n, null, err := r.length(rest, r.limits.MaxElems, kind == Array)
		if err != nil {
			return Value{}, err
		}
		if null {
			v.IsNull = true
			return v, nil
		}
		if kind == Map {
			n *= 2
		}
		// Grow as elements arrive: the count alone buys no memory.
		for range n {
			e, err := r.value(depth + 1)
			if err != nil {
				return Value{}, eofInside(err)
			}
			v.Elems = append(v.Elems, e)
		}
	default:
		return Value{}, protoErr("unknown type byte %q", byte(kind))
	}
	return v, nil
}

// eofInside turns a clean EOF in the middle of a value into an unexpected
// one.
func eofInside(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// length parses a bulk or aggregate length: digits, or -1 for RESP2's
// null where allowed.
func (r *Reader) length(s string, max int, nullable bool) (n int, null bool, err error) {
	if s == "-1" && nullable {
		return 0, true, nil
	}
	if s == "" || len(s) > 10 || strings.Trim(s, "0123456789") != "" {
		return 0, false, protoErr("bad length %q", s)
	}
	n, _ = strconv.Atoi(s)
	if n > max {
		return 0, false, fmt.Errorf("%w: length %d over %d", ErrTooLarge, n, max)
	}
	return n, false, nil
}

// bulk reads n bytes and the CRLF after them.
func (r *Reader) bulk(n int) ([]byte, error) {
	b := make([]byte, 0, min(n, 64<<10)) // grows only as bytes arrive
	for len(b) < n {
		chunk := min(n-len(b), 64<<10)
		start := len(b)
		b = slices.Grow(b, chunk)[:start+chunk]
		if _, err := io.ReadFull(r.r, b[start:]); err != nil {
			return nil, eofInside(err)
		}
	}
	var crlf [2]byte
	if _, err := io.ReadFull(r.r, crlf[:]); err != nil {
		return nil, eofInside(err)
	}
	if crlf != [2]byte{'\r', '\n'} {
		return nil, protoErr("bulk string not followed by CRLF")
	}
	return b, nil
}

// ReadCommand reads one command as a server does: an array of bulk
// strings, or an inline command line. An empty inline line returns no
// arguments and no error; servers ignore it.
func (r *Reader) ReadCommand() ([]string, error) {
	c, err := r.r.Peek(1)
	if err != nil {
		return nil, err
	}
	if c[0] != '*' {
		return r.inline()
	}
	l, err := r.line()
	if err != nil {
		return nil, err
	}
	n, _, err := r.length(string(l[1:]), r.limits.MaxArgs, false)
	if err != nil {
		return nil, err
	}
	args := make([]string, 0, min(n, 16))
	for range n {
		l, err := r.line()
		if err != nil {
			return nil, eofInside(err)
		}
		if len(l) == 0 || l[0] != '$' {
			return nil, protoErr("expected '$' in a command, got %q", firstByte(l))
		}
		size, _, err := r.length(string(l[1:]), r.limits.MaxBulk, false)
		if err != nil {
			return nil, err
		}
		b, err := r.bulk(size)
		if err != nil {
			return nil, err
		}
		args = append(args, string(b))
	}
	return args, nil
}

func firstByte(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return string(b[:1])
}

// inline reads a command typed as one line. Lines may end in LF alone, as
// telnet and nc send them.
func (r *Reader) inline() ([]string, error) {
	b, err := r.rawLine()
	if err != nil {
		return nil, err
	}
	args, err := SplitArgs(strings.TrimRight(string(b), "\r\n"))
	if err != nil {
		return nil, err
	}
	if len(args) > r.limits.MaxArgs {
		return nil, fmt.Errorf("%w: more than %d arguments", ErrTooLarge, r.limits.MaxArgs)
	}
	return args, nil
}
