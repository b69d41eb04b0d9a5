package resp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func read(t *testing.T, s string) Value {
	t.Helper()
	v, err := NewReader(strings.NewReader(s)).ReadValue()
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

func bulk(s string) Value { return Value{Kind: BulkString, Str: s} }
func num(n int64) Value   { return Value{Kind: Integer, Int: n} }

// The cases are the examples of the RESP specification, in its order.
func TestSpecExamples(t *testing.T) {
	cases := []struct {
		in   string
		want Value
	}{
		{"+OK\r\n", Value{Kind: SimpleString, Str: "OK"}},
		{"-Error message\r\n", Value{Kind: Error, Str: "Error message"}},
		{":0\r\n", num(0)},
		{":1000\r\n", num(1000)},
		{":+5\r\n", num(5)},
		{":-5\r\n", num(-5)},
		{"$5\r\nhello\r\n", bulk("hello")},
		{"$0\r\n\r\n", bulk("")},
		{"$-1\r\n", Value{Kind: BulkString, IsNull: true}},
		{"*0\r\n", Value{Kind: Array}},
		{"*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n",
			Value{Kind: Array, Elems: []Value{bulk("hello"), bulk("world")}}},
		{"*3\r\n:1\r\n:2\r\n:3\r\n", Value{Kind: Array, Elems: []Value{num(1), num(2), num(3)}}},
		{"*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n$5\r\nhello\r\n",
			Value{Kind: Array, Elems: []Value{num(1), num(2), num(3), num(4), bulk("hello")}}},
		{"*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n",
			Value{Kind: Array, Elems: []Value{
				{Kind: Array, Elems: []Value{num(1), num(2), num(3)}},
				{Kind: Array, Elems: []Value{{Kind: SimpleString, Str: "Hello"}, {Kind: Error, Str: "World"}}}}}},
		{"*-1\r\n", Value{Kind: Array, IsNull: true}},
		{"*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n",
			Value{Kind: Array, Elems: []Value{bulk("hello"), {Kind: BulkString, IsNull: true}, bulk("world")}}},
		{"_\r\n", Value{Kind: Null}},
		{"#t\r\n", Value{Kind: Boolean, Bool: true}},
		{"#f\r\n", Value{Kind: Boolean}},
		{",1.23\r\n", Value{Kind: Double, Str: "1.23", Float: 1.23}},
		{",10\r\n", Value{Kind: Double, Str: "10", Float: 10}},
		{",-1.5e3\r\n", Value{Kind: Double, Str: "-1.5e3", Float: -1500}},
		{",inf\r\n", Value{Kind: Double, Str: "inf", Float: math.Inf(1)}},
		{",-inf\r\n", Value{Kind: Double, Str: "-inf", Float: math.Inf(-1)}},
		{"(3492890328409238509324850943850943825024385\r\n",
			Value{Kind: BigNumber, Str: "3492890328409238509324850943850943825024385"}},
		{"!21\r\nSYNTAX invalid syntax\r\n", Value{Kind: BulkError, Str: "SYNTAX invalid syntax"}},
		{"=15\r\ntxt:Some string\r\n", Value{Kind: Verbatim, Format: "txt", Str: "Some string"}},
		{"%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", Value{Kind: Map, Elems: []Value{
			{Kind: SimpleString, Str: "first"}, num(1), {Kind: SimpleString, Str: "second"}, num(2)}}},
		{"~2\r\n:1\r\n:2\r\n", Value{Kind: Set, Elems: []Value{num(1), num(2)}}},
		{">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
			Value{Kind: Push, Elems: []Value{bulk("message"), bulk("ch"), bulk("hi")}}},
	}
	for _, c := range cases {
		got := read(t, c.in)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %#v, want %#v", c.in, got, c.want)
		}
		// What we read, we write back byte for byte (but for the optional +).
		if out := string(AppendValue(nil, got)); out != strings.Replace(c.in, ":+", ":", 1) {
			t.Errorf("%q: wrote back %q", c.in, out)
		}
	}
	if v := read(t, ",nan\r\n"); !math.IsNaN(v.Float) {
		t.Errorf("nan: got %v", v.Float)
	}
}

func TestRejects(t *testing.T) {
	cases := map[string]error{
		"+OK\n":                     ErrProtocol, // LF alone
		"?x\r\n":                    ErrProtocol,
		":12a\r\n":                  ErrProtocol,
		"$5\r\nhelloXX":             ErrProtocol,
		"$-2\r\n":                   ErrProtocol,
		"*-1x\r\n":                  ErrProtocol,
		",1.5.5\r\n":                ErrProtocol,
		",Inf\r\n":                  ErrProtocol,
		",0x10\r\n":                 ErrProtocol,
		"#x\r\n":                    ErrProtocol,
		"_x\r\n":                    ErrProtocol,
		"(12a\r\n":                  ErrProtocol,
		"=3\r\ntxt\r\n":             ErrProtocol,
		"%1\r\n+a\r\n":              io.ErrUnexpectedEOF,
		"$2000000\r\n":              ErrTooLarge,
		"*100000\r\n":               ErrTooLarge,
		"$99999999999999999999\r\n": ErrProtocol,
		"*2\r\n:1\r\n":              io.ErrUnexpectedEOF,
		"$5\r\nhel":                 io.ErrUnexpectedEOF,
		"":                          io.EOF,
	}
	for in, want := range cases {
		_, err := NewReader(strings.NewReader(in)).ReadValue()
		if !errors.Is(err, want) {
			t.Errorf("%q: got %v, want %v", in, err, want)
		}
	}
	deep := strings.Repeat("*1\r\n", 100) + ":1\r\n"
	if _, err := NewReader(strings.NewReader(deep)).ReadValue(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("deep nesting: got %v, want ErrTooLarge", err)
	}
	long := "+" + strings.Repeat("x", 100<<10) + "\r\n"
	if _, err := NewReader(strings.NewReader(long)).ReadValue(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long line: got %v, want ErrTooLarge", err)
	}
}

func TestReadCommand(t *testing.T) {
	in := "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhi\r\nx\r\n" + // bulk holds CRLF
		"PING\r\n" +
		"EXISTS somekey\n" +
		"\r\n" +
		"  SET  k  \"a b\\x41\\n\"  'it\\'s'\r\n"
	r := NewReader(iotest.HalfReader(strings.NewReader(in)))
	want := [][]string{{"PUBLISH", "ch", "hi\r\nx"}, {"PING"}, {"EXISTS", "somekey"},
		nil, {"SET", "k", "a bA\n", "it's"}}
	for _, w := range want {
		got, err := r.ReadCommand()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("got %q, want %q", got, w)
		}
	}
	if _, err := r.ReadCommand(); !errors.Is(err, io.EOF) {
		t.Errorf("at the end: got %v, want EOF", err)
	}
	for _, bad := range []string{"*1\r\n:5\r\n", "SET \"a\r\n", "SET \"a\"b\r\n", "SET 'a'b\r\n",
		"*5000\r\n"} {
		if _, err := NewReader(strings.NewReader(bad)).ReadCommand(); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	cases := map[string][]string{
		"":                        nil,
		"   ":                     nil,
		"a b  c":                  {"a", "b", "c"},
		`"" ''`:                   {"", ""},
		`"\x4" x`:                 {"x4", "x"}, // not two hex digits: \x is x
		`"tab\there"`:             {"tab\there"},
		`a"b c"`:                  {"ab c"},
		"PUBLISH ch \"hi there\"": {"PUBLISH", "ch", "hi there"},
	}
	for in, want := range cases {
		got, err := SplitArgs(in)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
			t.Errorf("SplitArgs(%q): got %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestAppendCommand(t *testing.T) {
	got := string(AppendCommand(nil, "LLEN", "mylist"))
	if want := "*2\r\n$4\r\nLLEN\r\n$6\r\nmylist\r\n"; got != want {
		t.Errorf("got %q, want %q (the spec's example)", got, want)
	}
	if got := string(AppendSimple(nil, "a\r\nb")); got != "+a  b\r\n" {
		t.Errorf("got %q: a simple string cannot hold CR or LF", got)
	}
}

func FuzzReadValue(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "*2\r\n$5\r\nhello\r\n:1\r\n", "%1\r\n_\r\n#t\r\n",
		"=15\r\ntxt:Some string\r\n", ",1e5\r\n", "$-1\r\n", ">1\r\n(1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := Limits{MaxBulk: 1 << 10, MaxElems: 64, MaxDepth: 8, MaxLine: 256, MaxArgs: 16}
		r := NewReaderLimits(bytes.NewReader(b), l)
		for range 64 {
			v, err := r.ReadValue()
			if err != nil {
				return
			}
			// Whatever we accept we can write and read back the same.
			again, err := NewReaderLimits(bytes.NewReader(AppendValue(nil, v)), l).ReadValue()
			if err != nil || !sameValue(v, again) {
				t.Fatalf("%#v did not round-trip: %#v, %v", v, again, err)
			}
		}
	})
}

// sameValue compares values, treating NaN as equal to itself.
func sameValue(a, b Value) bool {
	if math.IsNaN(a.Float) && math.IsNaN(b.Float) {
		a.Float, b.Float = 0, 0
	}
	if len(a.Elems) != len(b.Elems) {
		return false
	}
	for i := range a.Elems {
		if !sameValue(a.Elems[i], b.Elems[i]) {
			return false
		}
	}
	a.Elems, b.Elems = nil, nil
	return reflect.DeepEqual(a, b)
}

func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{"*2\r\n$4\r\nPING\r\n$1\r\nx\r\n", "PING\r\n", "SET a \"b\\x41\"\n",
		"GET 'it\\'s'\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l := Limits{MaxBulk: 1 << 10, MaxElems: 64, MaxDepth: 8, MaxLine: 256, MaxArgs: 16}
		r := NewReaderLimits(bytes.NewReader(b), l)
		for range 64 {
			args, err := r.ReadCommand()
			if err != nil {
				return
			}
			if len(args) > l.MaxArgs {
				t.Fatalf("got %d args over the limit", len(args))
			}
			// Commands encoded as arrays read back the same.
			again, err := NewReaderLimits(bytes.NewReader(AppendCommand(nil, args...)), l).ReadCommand()
			if err == nil && fmt.Sprintf("%q", again) != fmt.Sprintf("%q", args) {
				t.Fatalf("%q read back as %q", args, again)
			}
		}
	})
}
