package resp

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is a RESP type, named by its first byte.
type Kind byte

// The RESP types.
const (
	SimpleString Kind = '+'
	Error        Kind = '-'
	Integer      Kind = ':'
	BulkString   Kind = '$'
	Array        Kind = '*'
	Null         Kind = '_' // RESP3; RESP2's nulls are a BulkString or Array with IsNull
	Boolean      Kind = '#'
	Double       Kind = ','
	BigNumber    Kind = '('
	BulkError    Kind = '!'
	Verbatim     Kind = '='
	Map          Kind = '%'
	Set          Kind = '~'
	Push         Kind = '>'
)

// Value is one decoded RESP value.
type Value struct {
	Kind Kind
	// Str holds the text of strings, errors, big numbers and doubles (as
	// sent), and the data of a verbatim string (without its format).
	Str string
	// Format is a verbatim string's three-letter format, such as "txt".
	Format string
	Int    int64
	Float  float64
	Bool   bool
	// Elems holds the elements of an array, set or push, and a map's keys
	// and values alternately.
	Elems []Value
	// IsNull marks RESP2's null bulk string ($-1) and null array (*-1).
	IsNull bool
}

// Text returns the value as text when it is a string, error, integer or
// number, and false otherwise.
func (v Value) Text() (string, bool) {
	switch v.Kind {
	case SimpleString, BulkString, Error, BulkError, Verbatim, BigNumber, Double:
		return v.Str, !v.IsNull
	case Integer:
		return strconv.FormatInt(v.Int, 10), true
	}
	return "", false
}

// Err returns the server's error when the value is one, as an error of
// type *ServerError, and nil otherwise.
func (v Value) Err() error {
	if v.Kind == Error || v.Kind == BulkError {
		return &ServerError{Msg: v.Str}
	}
	return nil
}

// ServerError is an error reply from the server, such as
// "ERR unknown command 'foo'". Its first word is the error's kind.
type ServerError struct{ Msg string }

func (e *ServerError) Error() string { return "resp: server says " + e.Msg }

// String renders the value the way redis-cli prints it, for narratives.
func (v Value) String() string {
	switch v.Kind {
	case SimpleString, BigNumber, Double:
		return v.Str
	case Error, BulkError:
		return "(error) " + v.Str
	case Integer:
		return "(integer) " + strconv.FormatInt(v.Int, 10)
	case BulkString, Verbatim:
		if v.IsNull {
			return "(nil)"
		}
		return strconv.Quote(v.Str)
	case Null:
		return "(nil)"
	case Boolean:
		return fmt.Sprint(v.Bool)
	case Array, Set, Push, Map:
		if v.IsNull {
			return "(nil)"
		}
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = e.String()
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprintf("(kind %q)", byte(v.Kind))
}
