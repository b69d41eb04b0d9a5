package protowire

import (
	"bytes"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// protoc runs the protobuf compiler, an independent (C++) implementation
// of the wire format, with testdata/kitchen.proto.
func protoc(t *testing.T, mode, msg string, in []byte) []byte {
	t.Helper()
	path, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("protoc not installed (Debian package protobuf-compiler)")
	}
	cmd := exec.Command(path, "--"+mode+"=kitchen."+msg, "-I", "testdata", "kitchen.proto")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("protoc --%s: %v\n%s", mode, err, stderr.String())
	}
	return out
}

// fullText is full in protobuf text format.
const fullText = `
i32: -150 i64: -1099511627776 u32: 4000000000 u64: 9223372036854775808
s32: -75 s64: 1125899906842624 flag: true f32: 3735928559
f64: 1152921504606846976 sf32: -2 sf64: -3 fl: 1.5 db: -0.25
text: "h\303\251llo \342\230\272" blob: "\000\001\377"
inner { a: 1 note: "in" }
inners { a: 2 } inners { note: "three" }
packed: [1, -1, 300] unpacked: [7, 8] zigzags: [-1, 1, -1000]
fixeds: [1, 2] doubles: [0.5, 2]
`

// TestProtocEncodesAsWeDo: protoc, given full as text, writes the same
// bytes as MarshalAppend (both write fields in number order, repeated
// scalars packed unless declared otherwise), and we decode them to full.
func TestProtocEncodesAsWeDo(t *testing.T) {
	theirs := protoc(t, "encode", "Kitchen", []byte(fullText))
	ours := full.MarshalAppend(nil)
	if !bytes.Equal(theirs, ours) {
		t.Errorf("protoc wrote\n% x\nwe wrote\n% x", theirs, ours)
	}
	var got kitchen
	if err := got.Unmarshal(theirs); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, full) {
		t.Errorf("decoded %+v, want %+v", got, full)
	}
}

// TestProtocDecodesWhatWeWrite: protoc reads our encoding and, writing it
// again, loses nothing.
func TestProtocDecodesWhatWeWrite(t *testing.T) {
	ours := full.MarshalAppend(nil)
	text := protoc(t, "decode", "Kitchen", ours)
	for _, want := range []string{"i32: -150", "u64: 9223372036854775808",
		`note: "three"`, "zigzags: -1000", "doubles: 0.5"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("protoc's decoding lacks %q:\n%s", want, text)
		}
	}
	if again := protoc(t, "encode", "Kitchen", text); !bytes.Equal(again, ours) {
		t.Errorf("protoc re-encoded\n% x\nwe wrote\n% x", again, ours)
	}
}

// TestUnknownFieldsSurviveUs: a newer sender's message (KitchenV2) goes
// through our older Kitchen and comes out with its new fields intact.
func TestUnknownFieldsSurviveUs(t *testing.T) {
	v2 := protoc(t, "encode", "KitchenV2",
		[]byte(`i32: 5 text: "t" added: "new" more: [1, 2, 300]`))
	var m kitchen
	if err := m.Unmarshal(v2); err != nil {
		t.Fatal(err)
	}
	if m.I32 != 5 || m.Text != "t" || len(m.unknown) == 0 {
		t.Fatalf("got %+v, want i32 5, text t and unknown fields kept", m)
	}
	out := m.MarshalAppend(nil)
	if !bytes.Equal(out, v2) {
		t.Errorf("relayed\n% x\nwant\n% x", out, v2)
	}
	text := string(protoc(t, "decode", "KitchenV2", out))
	if !strings.Contains(text, `added: "new"`) || !strings.Contains(text, "more: 300") {
		t.Errorf("protoc finds no new fields in what we relayed:\n%s", text)
	}
}
