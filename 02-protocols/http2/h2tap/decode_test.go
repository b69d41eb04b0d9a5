package h2tap

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeAll decodes every frame in wire until it ends.
func decodeAll(t *testing.T, d *Decoder, wire []byte) []Frame {
	t.Helper()
	r := bytes.NewReader(wire)
	var out []Frame
	for {
		f, _, err := d.Next(r)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("after %d frames: %v", len(out), err)
		}
		out = append(out, f)
	}
}

func fieldsString(fs []hpack.HeaderField) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Name+": "+f.Value)
	}
	return strings.Join(s, "\n")
}

// TestRFC7541Requests decodes the request examples of RFC 7541 appendix
// C.3 (literals) and C.4 (Huffman), each three header blocks in a row on
// one connection: the second and third refer to entries the first added to
// the dynamic table.
func TestRFC7541Requests(t *testing.T) {
	want := []string{
		":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com",
		":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n" +
			"cache-control: no-cache",
		":method: GET\n:scheme: https\n:path: /index.html\n" +
			":authority: www.example.com\ncustom-key: custom-value",
	}
	for _, c := range []struct {
		name   string
		blocks []string
	}{
		{"C.3", []string{
			"8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
			"8286 84be 5808 6e6f 2d63 6163 6865",
			"8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
		}},
		{"C.4", []string{
			"8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
			"8286 84be 5886 a8eb 1064 9cbf",
			"8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var wire bytes.Buffer
			fr := http2.NewFramer(&wire, nil)
			for i, b := range c.blocks {
				fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1),
					BlockFragment: unhex(t, b), EndHeaders: true, EndStream: true})
			}
			frames := decodeAll(t, NewDecoder(ServerToClient, 0), wire.Bytes())
			if len(frames) != 3 {
				t.Fatalf("got %d frames, want 3", len(frames))
			}
			for i, f := range frames {
				if f.Err != nil {
					t.Fatalf("block %d: %v", i+1, f.Err)
				}
				if got := fieldsString(f.Fields); got != want[i] {
					t.Errorf("block %d: got\n%s\nwant\n%s", i+1, got, want[i])
				}
				if n := len(unhex(t, c.blocks[i])); f.BlockLen != n {
					t.Errorf("block %d: got BlockLen %d, want %d", i+1, f.BlockLen, n)
				}
			}
		})
	}
}

// TestEveryFrameType writes one frame of each type with x/net's Framer
// and checks what the decoder makes of it.
func TestEveryFrameType(t *testing.T) {
	var wire bytes.Buffer
	wire.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&wire, nil)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "POST"},
		{Name: ":path", Value: "/upload"}, {Name: "x-long", Value: strings.Repeat("v", 100)}} {
		enc.WriteField(f)
	}
	frag := block.Bytes()
	fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	fr.WriteSettingsAck()
	// One header block split over HEADERS and two CONTINUATIONs.
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: frag[:5],
		Priority: http2.PriorityParam{StreamDep: 0, Weight: 15}})
	fr.WriteContinuation(1, false, frag[5:20])
	fr.WriteContinuation(1, true, frag[20:])
	fr.WriteDataPadded(1, false, []byte("hello, world"), make([]byte, 7))
	fr.WriteData(1, true, nil)
	fr.WriteWindowUpdate(0, 65535)
	fr.WritePing(false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	fr.WritePriority(3, http2.PriorityParam{StreamDep: 1, Weight: 255})
	fr.WriteRSTStream(3, http2.ErrCodeCancel)
	fr.WriteGoAway(1, http2.ErrCodeNo, []byte("bye"))
	fr.WriteRawFrame(0xfa, 0x3, 5, []byte("xyz")) // an unknown type

	frames := decodeAll(t, NewDecoder(ClientToServer, 5), wire.Bytes())
	var got []string
	for _, f := range frames {
		if f.Err != nil {
			t.Errorf("%v: %v", f, f.Err)
		}
		got = append(got, f.String())
	}
	want := []string{
		`PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"`,
		"SETTINGS stream=0 ENABLE_PUSH=0 INITIAL_WINDOW_SIZE=1048576",
		"SETTINGS stream=0 ACK",
		"HEADERS stream=1 PRIORITY",
		"CONTINUATION stream=1",
		"CONTINUATION stream=1 END_HEADERS hpack=" + strconv.Itoa(len(frag)) +
			"B :method=POST :path=/upload x-long=" + strings.Repeat("v", 100),
		`DATA stream=1 PADDED len=12 "hello"...`,
		"DATA stream=1 END_STREAM len=0",
		"WINDOW_UPDATE stream=0 +65535",
		"PING stream=0 0102030405060708",
		"PRIORITY stream=3 dep=1 weight=256",
		"RST_STREAM stream=3 CANCEL",
		`GOAWAY stream=0 last=1 NO_ERROR "bye"`,
		"UNKNOWN_FRAME_TYPE_250 stream=5 0x3 len=3",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f := frames[3]; f.Priority.Weight != 15 {
		t.Errorf("got HEADERS priority %+v, want weight 15", f.Priority)
	}
	if f := frames[6]; f.DataLen != 12 || f.Header.Length != 20 {
		t.Errorf("got DataLen %d, Length %d; want 12 and 20 (1+12+7 padding)",
			f.DataLen, f.Header.Length)
	}
}

// TestTableSizeFollowsSettings: a client that allows a 64 KiB table lets
// the server's encoder grow it with a dynamic table size update (RFC 7541
// section 6.3); the server's decoder must accept that only after the
// client's SETTINGS.
func TestTableSizeFollowsSettings(t *testing.T) {
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	enc.SetMaxDynamicTableSizeLimit(1 << 16)
	enc.SetMaxDynamicTableSize(1 << 16) // emits a table size update
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	var resp bytes.Buffer
	http2.NewFramer(&resp, nil).WriteHeaders(http2.HeadersFrameParam{
		StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true})

	toServer, toClient := NewDecoders(0)
	var req bytes.Buffer
	req.WriteString(http2.ClientPreface)
	http2.NewFramer(&req, nil).WriteSettings(
		http2.Setting{ID: http2.SettingHeaderTableSize, Val: 1 << 16})
	decodeAll(t, toServer, req.Bytes())
	f := decodeAll(t, toClient, resp.Bytes())[0]
	if f.Err != nil || len(f.Fields) != 1 {
		t.Errorf("after SETTINGS: got %v, want :status=200 decoded", f)
	}
	if len(f.TableSizes) != 1 || f.TableSizes[0] != 1<<16 {
		t.Errorf("got table size updates %v, want [65536]", f.TableSizes)
	}

	// Without the SETTINGS the same block is a decoding error.
	f = decodeAll(t, NewDecoder(ServerToClient, 0), resp.Bytes())[0]
	if f.Err == nil {
		t.Errorf("without SETTINGS: got %v, want a table size error", f)
	}
}

func TestTableSizeUpdates(t *testing.T) {
	for _, c := range []struct {
		block string
		want  []uint32
	}{
		{"82", nil},
		{"20 82", []uint32{0}},
		{"3f e1 1f 82", []uint32{4096}},    // 31 + 4065
		{"20 3f e1 1f", []uint32{0, 4096}}, // shrink, then grow
		{"3f ff", nil},                     // cut short
	} {
		got := tableSizeUpdates(unhex(t, c.block))
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.block, got, c.want)
		}
	}
}

func TestNotHTTP2(t *testing.T) {
	d := NewDecoder(ClientToServer, 0)
	in := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	f, raw, err := d.Next(strings.NewReader(in))
	if !errors.Is(err, ErrNotHTTP2) || !f.Preface || !errors.Is(f.Err, ErrNotHTTP2) {
		t.Errorf("got %v, %v; want ErrNotHTTP2", f, err)
	}
	if !strings.HasPrefix(in, string(raw)) || len(raw) == 0 {
		t.Errorf("got raw %q, want a prefix of the request", raw)
	}
}

// TestShortPrefaceIsNotWaitedOn: a client that sent 18 bytes of HTTP/1.1
// and waits is recognized without more input.
func TestShortPrefaceIsNotWaitedOn(t *testing.T) {
	pr, pw := io.Pipe()
	go pw.Write([]byte("PRI * HTTP/1.1\r\n"))
	_, raw, err := NewDecoder(ClientToServer, 0).Next(pr)
	if !errors.Is(err, ErrNotHTTP2) || string(raw) != "PRI * HTTP/1.1\r\n" {
		t.Errorf("got %q, %v; want the bytes and ErrNotHTTP2", raw, err)
	}
	pw.Close()
}

func TestTruncatedFrame(t *testing.T) {
	var wire bytes.Buffer
	http2.NewFramer(&wire, nil).WriteData(1, false, []byte("0123456789"))
	cut := wire.Bytes()[:wire.Len()-3]
	_, raw, err := NewDecoder(ServerToClient, 0).Next(bytes.NewReader(cut))
	if err != io.ErrUnexpectedEOF || !bytes.Equal(raw, cut) {
		t.Errorf("got %d bytes, %v; want all %d and ErrUnexpectedEOF",
			len(raw), err, len(cut))
	}
}

// TestBadFramesAreReportedNotFatal: frames the Framer rejects come back
// with Err set, and the frames after them still decode.
func TestBadFramesAreReportedNotFatal(t *testing.T) {
	var wire bytes.Buffer
	fr := http2.NewFramer(&wire, nil)
	fr.WriteRawFrame(http2.FrameData, 0, 0, []byte("x"))          // DATA on stream 0
	fr.WriteRawFrame(http2.FrameWindowUpdate, 0, 1, []byte{0, 0}) // short
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1,
		BlockFragment: []byte{0xff, 0xff, 0xff, 0xff}, EndHeaders: true}) // bad index
	fr.WriteContinuation(1, true, []byte{0x82}) // no block open
	fr.WritePing(true, [8]byte{})
	frames := decodeAll(t, NewDecoder(ServerToClient, 0), wire.Bytes())
	if len(frames) != 5 {
		t.Fatalf("got %d frames, want 5", len(frames))
	}
	for i, f := range frames[:4] {
		if f.Err == nil {
			t.Errorf("frame %d: got %v, want an error", i, f)
		}
	}
	if f := frames[4]; f.Err != nil || f.Type() != http2.FramePing || !f.Has(http2.FlagPingAck) {
		t.Errorf("got %v, want a PING ACK", f)
	}
}

func TestHeaderBlockIsBounded(t *testing.T) {
	var wire bytes.Buffer
	fr := http2.NewFramer(&wire, nil)
	chunk := make([]byte, 1<<16)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: chunk})
	for range MaxHeaderBlock / len(chunk) {
		fr.WriteContinuation(1, false, chunk)
	}
	fr.WriteContinuation(1, true, chunk)
	frames := decodeAll(t, NewDecoder(ServerToClient, 0), wire.Bytes())
	last := frames[len(frames)-1]
	if last.Err == nil || !strings.Contains(last.Err.Error(), "larger than") {
		t.Errorf("got %v, want a block-too-large error", last.Err)
	}
}

// FuzzDecoder feeds arbitrary bytes to a decoder: it must never panic, and
// the raw bytes it hands back, frame after frame, must be exactly its
// input, because the tap forwards them.
func FuzzDecoder(f *testing.F) {
	var seed bytes.Buffer
	seed.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&seed, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 100})
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1,
		BlockFragment: []byte{0x82, 0x86, 0x84}, EndHeaders: true})
	fr.WriteData(1, true, []byte("hi"))
	f.Add(seed.Bytes(), true)
	f.Add(seed.Bytes()[len(http2.ClientPreface):], false)
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), true)
	f.Fuzz(func(t *testing.T, in []byte, client bool) {
		dir := ServerToClient
		if client {
			dir = ClientToServer
		}
		d := NewDecoder(dir, 8)
		r := bytes.NewReader(in)
		var got []byte
		for {
			fr, raw, err := d.Next(r)
			got = append(got, raw...)
			if err != nil {
				break
			}
			_ = fr.String()
		}
		got = append(got, in[len(in)-r.Len():]...) // relayed undecoded
		if !bytes.Equal(got, in) {
			t.Fatalf("relayed %x, want %x", got, in)
		}
	})
}
