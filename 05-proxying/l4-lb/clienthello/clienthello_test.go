package clienthello

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// rfc9001Hello is the ClientHello inside the CRYPTO frame of RFC 9001
// Appendix A.2 (the frame's 06 00 40f1 header removed).
const rfc9001Hello = "010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868" +
	"04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578" +
	"616d706c652e636f6dff01000100000a00080006001d00170018001000070005" +
	"04616c706e000500050100000000003300260024001d00209370b2c9caa47fba" +
	"baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400" +
	"0d0010000e0403050306030203080408050806002d00020101001c0002400100" +
	"3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000" +
	"75300901100f088394c8f03e51570806048000ffff"

func unhex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// records wraps a handshake message in TLS records of at most size bytes.
func records(msg []byte, size int) []byte {
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, recordHandshake, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

func TestRFC9001Vector(t *testing.T) {
	msg := unhex(t, rfc9001Hello)
	h, err := Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if h.ServerName != "example.com" || !slices.Equal(h.ALPN, []string{"alpn"}) ||
		!slices.Equal(h.Versions, []uint16{tls.VersionTLS13}) || h.Version != 0x0303 || h.ECH {
		t.Errorf("got %+v, want example.com, [alpn], TLS 1.3", h)
	}
	want := []uint16{0, 0xff01, 10, 16, 5, 51, 43, 13, 45, 28, 57}
	if !slices.Equal(h.Extensions, want) {
		t.Errorf("got extensions %v, want %v", h.Extensions, want)
	}
	if got := h.String(); got != `server_name="example.com" alpn=[alpn] versions=[TLS 1.3]` {
		t.Errorf("got String() %s", got)
	}
	// The same message split over records of 1, 7 and 100 bytes.
	for _, size := range []int{1, 7, 100, maxFragment} {
		in := records(msg, size)
		h2, raw, err := Read(bytes.NewReader(append(in, "after"...)))
		if err != nil || h2.ServerName != "example.com" {
			t.Errorf("records of %d: got %v, %v", size, h2, err)
		}
		if !bytes.Equal(raw, in) {
			t.Errorf("records of %d: raw is %d bytes, want the %d read and nothing after",
				size, len(raw), len(in))
		}
	}
}

// hello builds a ClientHello message with the given extensions.
func hello(exts ...[]byte) []byte {
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)                // session id
	body = append(body, 0, 2, 0x13, 0x01) // one cipher suite
	body = append(body, 1, 0)             // null compression
	if exts != nil {
		all := slices.Concat(exts...)
		body = append(body, byte(len(all)>>8), byte(len(all)))
		body = append(body, all...)
	}
	return append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
}

func ext(typ uint16, data ...byte) []byte {
	return append([]byte{byte(typ >> 8), byte(typ), byte(len(data) >> 8), byte(len(data))}, data...)
}

func sni(names ...string) []byte {
	var list []byte
	for _, n := range names {
		list = append(list, 0, byte(len(n)>>8), byte(len(n)))
		list = append(list, n...)
	}
	return ext(extServerName, append([]byte{byte(len(list) >> 8), byte(len(list))}, list...)...)
}

func TestParseCases(t *testing.T) {
	cases := []struct {
		name    string
		msg     []byte
		server  string
		alpn    []string
		wantErr bool
	}{
		{"no extensions at all", hello(), "", nil, false},
		{"empty extensions", hello([]byte{}), "", nil, false},
		{"sni", hello(sni("app1.localhost")), "app1.localhost", nil, false},
		{"sni and alpn", hello(sni("a"), ext(extALPN, 0, 6, 2, 'h', '2', 2, 'h', '3')),
			"a", []string{"h2", "h3"}, false},
		{"unknown name type skipped", hello(ext(extServerName, 0, 8, 9, 0, 1, 'x', 0, 0, 1, 'y')),
			"y", nil, false},
		{"two host names", hello(sni("a", "b")), "", nil, true},
		{"trailing dot", hello(sni("example.com.")), "", nil, true},
		{"empty name", hello(sni("")), "", nil, true},
		{"empty name list", hello(ext(extServerName, 0, 0)), "", nil, true},
		{"sni list longer than extension", hello(ext(extServerName, 0, 9, 0, 0, 1, 'x')), "", nil, true},
		{"bytes after sni list", hello(ext(extServerName, 0, 4, 0, 0, 1, 'x', 0)), "", nil, true},
		{"duplicate extension", hello(ext(99), ext(99)), "", nil, true},
		{"empty alpn name", hello(ext(extALPN, 0, 1, 0)), "", nil, true},
		{"odd versions", hello(ext(extSupportedVersions, 3, 3, 4, 3)), "", nil, true},
		{"extension cut short", hello([]byte{0, 0, 0, 9, 1}), "", nil, true},
		{"not a client hello", append([]byte{2}, hello()[1:]...), "", nil, true},
		{"length mismatch", append(hello(), 0), "", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := Parse(c.msg)
			if c.wantErr {
				if err == nil || !errors.Is(err, ErrMalformed) {
					t.Fatalf("got %+v, %v; want ErrMalformed", h, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.ServerName != c.server || !slices.Equal(h.ALPN, c.alpn) {
				t.Errorf("got %q %v, want %q %v", h.ServerName, h.ALPN, c.server, c.alpn)
			}
		})
	}
}

func TestReadRejects(t *testing.T) {
	good := records(hello(sni("a")), 1000)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"plain http", []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), ErrNotHandshake},
		{"ssl 2 style", []byte{0x80, 0x2e, 1, 3, 1, 0, 0x15}, ErrNotHandshake},
		{"nothing", nil, io.EOF},
		{"empty record", []byte{22, 3, 1, 0, 0}, ErrMalformed},
		{"record too long", []byte{22, 3, 1, 0x40, 1}, ErrMalformed},
		{"too large", records([]byte{1, 1, 0, 0}, 10), ErrTooLarge},
		{"alert in the middle", append(records(hello(sni("a"))[:10], 10),
			Alert(UnrecognizedName)...), ErrMalformed},
		{"server hello", records(append([]byte{2}, hello()[1:]...), 100), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := Read(bytes.NewReader(c.in)); !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}
	// Every cut of a good hello is an unexpected EOF, never a panic.
	for i := 1; i < len(good); i++ {
		if _, raw, err := Read(bytes.NewReader(good[:i])); !errors.Is(err, io.ErrUnexpectedEOF) ||
			!bytes.HasPrefix(good, raw) {
			t.Fatalf("cut at %d: got %v (raw %d bytes), want io.ErrUnexpectedEOF", i, err, len(raw))
		}
	}
}

// replay is a net.Conn whose reads return fixed bytes and whose writes
// are kept: enough of a peer for one side of a TLS handshake.
type replay struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (r *replay) Read(b []byte) (int, error)       { return r.in.Read(b) }
func (r *replay) Write(b []byte) (int, error)      { return r.out.Write(b) }
func (r *replay) Close() error                     { return nil }
func (r *replay) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (r *replay) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (r *replay) SetDeadline(time.Time) error      { return nil }
func (r *replay) SetReadDeadline(time.Time) error  { return nil }
func (r *replay) SetWriteDeadline(time.Time) error { return nil }

var errSeen = errors.New("seen")

// goSees feeds records to a crypto/tls server and returns what it made of
// the ClientHello, or nil if it rejected it before asking for a config.
func goSees(in []byte) *tls.ClientHelloInfo {
	var info *tls.ClientHelloInfo
	srv := tls.Server(&replay{in: bytes.NewReader(in)}, &tls.Config{
		GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
			info = chi
			return nil, errSeen
		}})
	srv.Handshake()
	return info
}

// goSends returns the first flight of a crypto/tls client.
func goSends(t *testing.T, cfg *tls.Config) []byte {
	t.Helper()
	conn := &replay{in: bytes.NewReader(nil)}
	tls.Client(conn, cfg).Handshake() // fails at EOF, after sending its hello
	if conn.out.Len() == 0 {
		t.Fatal("client sent nothing")
	}
	return conn.out.Bytes()
}

func agree(t *testing.T, in []byte) *Hello {
	t.Helper()
	h, raw, err := Read(bytes.NewReader(in))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !bytes.Equal(raw, in) {
		t.Errorf("raw: got %d bytes, want all %d", len(raw), len(in))
	}
	info := goSees(in)
	if info == nil {
		t.Fatal("crypto/tls rejected the hello")
	}
	if h.ServerName != info.ServerName || !slices.Equal(h.ALPN, info.SupportedProtos) ||
		(h.Versions != nil && !slices.Equal(h.Versions, info.SupportedVersions)) ||
		!slices.Equal(h.Extensions, info.Extensions) {
		t.Errorf("got %v %v %v %v,\ncrypto/tls saw %q %v %v %v", h.ServerName, h.ALPN,
			h.Versions, h.Extensions, info.ServerName, info.SupportedProtos,
			info.SupportedVersions, info.Extensions)
	}
	return h
}

// TestInteropCryptoTLS parses the ClientHellos crypto/tls's client sends
// and checks them against what crypto/tls's server reads from the same
// bytes.
func TestInteropCryptoTLS(t *testing.T) {
	cases := []struct {
		name string
		cfg  *tls.Config
		sni  string
	}{
		{"tls13 h2", &tls.Config{ServerName: "app1.localhost",
			NextProtos: []string{"h2", "http/1.1"}}, "app1.localhost"},
		{"tls12 only, no alpn", &tls.Config{ServerName: "b.example",
			MaxVersion: tls.VersionTLS12}, "b.example"},
		{"ip address: no sni", &tls.Config{ServerName: "127.0.0.1"}, ""},
		{"x25519 only", &tls.Config{ServerName: "small.example",
			CurvePreferences: []tls.CurveID{tls.X25519}}, "small.example"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := goSends(t, c.cfg)
			if h := agree(t, in); h.ServerName != c.sni {
				t.Errorf("got server name %q, want %q", h.ServerName, c.sni)
			}
		})
	}
	t.Run("rfc9001 vector", func(t *testing.T) {
		agree(t, records(unhex(t, rfc9001Hello), 100))
	})
}

// TestInteropCurl parses the ClientHello of curl (OpenSSL's TLS stack),
// captured on a real socket.
func TestInteropCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cmd := exec.Command(curl, "-s", "-k", "--max-time", "10",
		"--resolve", "curl.example:"+port+":127.0.0.1", "https://curl.example:"+port+"/")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	h, raw, err := Read(c)
	c.Close()
	if err != nil {
		t.Fatalf("curl's hello: %v", err)
	}
	if h.ServerName != "curl.example" || !slices.Contains(h.ALPN, "http/1.1") {
		t.Errorf("got %v, want curl.example offering http/1.1", h)
	}
	agree(t, raw)
	t.Logf("curl: %d bytes, %v", len(raw), h)
}

// FuzzParse checks that Parse never panics and that it accepts every
// hello crypto/tls accepts, with the same name, protocols and versions.
func FuzzParse(f *testing.F) {
	f.Add(unhex(f, rfc9001Hello))
	f.Add(hello(sni("a"), ext(extALPN, 0, 3, 2, 'h', '2')))
	f.Add(hello())
	for _, cfg := range []*tls.Config{{ServerName: "x.example", NextProtos: []string{"h2"}},
		{ServerName: "y", MaxVersion: tls.VersionTLS12}} {
		conn := &replay{in: bytes.NewReader(nil)}
		tls.Client(conn, cfg).Handshake()
		if h, raw, err := Read(bytes.NewReader(conn.out.Bytes())); err == nil && h != nil {
			f.Add(raw[5:])
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := Parse(msg)
		if err == nil && h == nil {
			t.Fatal("nil hello without an error")
		}
		if len(msg) < 4 || msg[0] != typeClientHello {
			return
		}
		// crypto/tls reads the message its header declares and leaves
		// the rest: compare on exactly that message.
		if n := 4 + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])); n > len(msg) || n > MaxLen {
			return
		} else if n < len(msg) {
			msg = msg[:n]
			h, err = Parse(msg)
		}
		info := goSees(records(msg, maxFragment))
		if info == nil {
			return
		}
		if err != nil {
			t.Fatalf("crypto/tls accepts what Parse rejects: %v", err)
		}
		if h.ServerName != info.ServerName || !slices.Equal(h.ALPN, info.SupportedProtos) ||
			(h.Versions != nil && !slices.Equal(h.Versions, info.SupportedVersions)) {
			t.Fatalf("got %q %v %v, crypto/tls saw %q %v %v", h.ServerName, h.ALPN,
				h.Versions, info.ServerName, info.SupportedProtos, info.SupportedVersions)
		}
	})
}

// FuzzRead checks that Read never panics, never reads more than the
// records of one bounded hello, and returns only bytes it was given.
func FuzzRead(f *testing.F) {
	f.Add(records(unhex(f, rfc9001Hello), 50))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		_, raw, _ := Read(bytes.NewReader(in))
		if !bytes.HasPrefix(in, raw) {
			t.Fatalf("raw is not a prefix of the input")
		}
		if len(raw) > MaxLen+2*maxFragment {
			t.Fatalf("read %d bytes, more than one bounded hello", len(raw))
		}
	})
}
