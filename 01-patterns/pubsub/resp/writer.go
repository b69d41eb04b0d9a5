package resp

import (
	"strconv"
	"strings"
)

// The Append functions encode one value onto b and return the extended
// slice, so a server can build a reply once and share it between
// connections.

// AppendSimple appends a simple string; CR and LF, which it cannot hold,
// become spaces.
func AppendSimple(b []byte, s string) []byte {
	b = append(b, '+')
	b = append(b, oneLine(s)...)
	return append(b, '\r', '\n')
}

// AppendError appends a simple error such as "ERR unknown command".
func AppendError(b []byte, msg string) []byte {
	b = append(b, '-')
	b = append(b, oneLine(msg)...)
	return append(b, '\r', '\n')
}

// AppendInt appends an integer.
func AppendInt(b []byte, n int64) []byte {
	b = append(b, ':')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// AppendBulk appends a bulk string, which may hold any bytes.
func AppendBulk(b []byte, s string) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, '\r', '\n')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// AppendNullBulk appends RESP2's null bulk string, $-1.
func AppendNullBulk(b []byte) []byte { return append(b, "$-1\r\n"...) }

// AppendNullArray appends RESP2's null array, *-1.
func AppendNullArray(b []byte) []byte { return append(b, "*-1\r\n"...) }

// AppendArray appends an array header for n elements; the caller appends
// the elements.
func AppendArray(b []byte, n int) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

// AppendCommand appends a command as clients send it: an array of bulk
// strings.
func AppendCommand(b []byte, args ...string) []byte {
	b = AppendArray(b, len(args))
	for _, a := range args {
		b = AppendBulk(b, a)
	}
	return b
}

// AppendValue appends any Value, as the Reader would read it back.
func AppendValue(b []byte, v Value) []byte {
	switch v.Kind {
	case SimpleString:
		return AppendSimple(b, v.Str)
	case Error:
		return AppendError(b, v.Str)
	case Integer:
		return AppendInt(b, v.Int)
	case Null:
		return append(b, "_\r\n"...)
	case Boolean:
		if v.Bool {
			return append(b, "#t\r\n"...)
		}
		return append(b, "#f\r\n"...)
	case Double, BigNumber:
		b = append(b, byte(v.Kind))
		b = append(b, oneLine(v.Str)...)
		return append(b, '\r', '\n')
	case BulkString, BulkError, Verbatim:
		if v.IsNull {
			return AppendNullBulk(b)
		}
		s := v.Str
		if v.Kind == Verbatim {
			s = v.Format + ":" + s
		}
		b = append(b, byte(v.Kind))
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, '\r', '\n')
		b = append(b, s...)
		return append(b, '\r', '\n')
	case Array, Set, Push, Map:
		if v.IsNull {
			return AppendNullArray(b)
		}
		n := len(v.Elems)
		if v.Kind == Map {
			n /= 2
		}
		b = append(b, byte(v.Kind))
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, '\r', '\n')
		for _, e := range v.Elems[:n*(1+btoi(v.Kind == Map))] {
			b = AppendValue(b, e)
		}
		return b
	}
	return AppendError(b, "ERR cannot encode kind "+string(rune(v.Kind)))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
