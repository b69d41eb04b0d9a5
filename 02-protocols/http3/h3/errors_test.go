package h3

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"backend-protocols/02-protocols/http3/quic"
)

// rawClient dials the server with the QUIC engine directly, to send
// HTTP/3 that a well-behaved client never would.
func rawClient(t *testing.T, addr string) *quic.Conn {
	t.Helper()
	tc := testCA().ClientConfig()
	tc.NextProtos = []string{NextProto}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := quic.Dial(ctx, "udp", addr, &quic.Config{TLSConfig: tc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// uni opens a unidirectional stream and writes b on it.
func uni(t *testing.T, c *quic.Conn, b []byte) *quic.Stream {
	t.Helper()
	s, err := c.OpenUniStream(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(b); err != nil {
		t.Fatal(err)
	}
	return s
}

// control opens a valid control stream.
func control(t *testing.T, c *quic.Conn) *quic.Stream {
	return uni(t, c, appendSettings([]byte{streamControl}, 1<<16, 1))
}

// request sends raw bytes on a new request stream and closes it.
func request(t *testing.T, c *quic.Conn, b []byte) *quic.Stream {
	t.Helper()
	s, err := c.OpenStream(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Write(b)
	s.CloseWrite()
	return s
}

func headersFrame(fields ...headerField) []byte {
	return appendFrame(nil, frameHeaders, encodeFields(nil, fields))
}

func validGet() []headerField {
	return []headerField{{":method", "GET"}, {":scheme", "https"},
		{":authority", "localhost"}, {":path", "/hello"}}
}

// wantConnError waits for the server to close the connection with code.
func wantConnError(t *testing.T, c *quic.Conn, code ErrCode) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("connection still open, want closed with %v", code)
	}
	var ae *quic.ApplicationError
	if err := c.Err(); !errors.As(err, &ae) || ErrCode(ae.Code) != code || !ae.Remote {
		t.Errorf("got %v, want the server's %v", c.Err(), code)
	}
}

// wantStreamError reads a request stream and expects it reset with code.
func wantStreamError(t *testing.T, s *quic.Stream, code ErrCode) {
	t.Helper()
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(s)
	var se *quic.StreamError
	if !errors.As(err, &se) || ErrCode(se.Code) != code {
		t.Errorf("got %v, want the stream reset with %v", err, code)
	}
}

func TestConnectionErrors(t *testing.T) {
	_, addr := startServer(t, testMux())
	cases := []struct {
		name string
		do   func(t *testing.T, c *quic.Conn)
		code ErrCode
	}{
		{"DATA before HEADERS", func(t *testing.T, c *quic.Conn) {
			control(t, c)
			request(t, c, appendFrame(nil, frameData, []byte("x")))
		}, ErrCodeFrameUnexpected},
		{"control stream without SETTINGS first", func(t *testing.T, c *quic.Conn) {
			uni(t, c, appendFrame([]byte{streamControl}, frameGoaway, []byte{0}))
		}, ErrCodeMissingSettings},
		{"second control stream", func(t *testing.T, c *quic.Conn) {
			control(t, c)
			control(t, c)
		}, ErrCodeStreamCreationError},
		{"control stream closed", func(t *testing.T, c *quic.Conn) {
			control(t, c).CloseWrite()
		}, ErrCodeClosedCriticalStream},
		{"HTTP/2 setting", func(t *testing.T, c *quic.Conn) {
			uni(t, c, appendFrame([]byte{streamControl}, frameSettings, []byte{0x02, 0x00}))
		}, ErrCodeSettingsError},
		{"second SETTINGS", func(t *testing.T, c *quic.Conn) {
			s := control(t, c)
			s.Write(appendSettings(nil, 100, 2))
		}, ErrCodeFrameUnexpected},
		{"DATA on the control stream", func(t *testing.T, c *quic.Conn) {
			s := control(t, c)
			s.Write(appendFrame(nil, frameData, nil))
		}, ErrCodeFrameUnexpected},
		{"dynamic table reference", func(t *testing.T, c *quic.Conn) {
			control(t, c)
			request(t, c, appendFrame(nil, frameHeaders, []byte{0x02, 0x00, 0x80}))
		}, ErrCodeQPACKDecompressionFailed},
		{"encoder stream insertion", func(t *testing.T, c *quic.Conn) {
			control(t, c)
			uni(t, c, []byte{streamQPACKEncoder, 0xc0 | 17, 0x01, 'x'})
		}, ErrCodeQPACKEncoderStreamError},
		{"decoder stream acknowledgment", func(t *testing.T, c *quic.Conn) {
			control(t, c)
			uni(t, c, []byte{streamQPACKDecoder, 0x80})
		}, ErrCodeQPACKDecoderStreamError},
		{"push stream from a client", func(t *testing.T, c *quic.Conn) {
			control(t, c)
			uni(t, c, []byte{streamPush, 0x00})
		}, ErrCodeStreamCreationError},
		{"truncated frame", func(t *testing.T, c *quic.Conn) {
			control(t, c)
			request(t, c, []byte{frameHeaders, 0x20, 0x00})
		}, ErrCodeFrameError},
		{"HTTP/2 frame type on a request stream", func(t *testing.T, c *quic.Conn) {
			control(t, c)
			request(t, c, appendFrame(nil, 0x06, make([]byte, 8)))
		}, ErrCodeFrameUnexpected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rawClient(t, addr)
			tc.do(t, c)
			wantConnError(t, c, tc.code)
		})
	}
}

func TestStreamErrorsKeepTheConnection(t *testing.T) {
	_, addr := startServer(t, testMux())
	c := rawClient(t, addr)
	control(t, c)
	bad := map[string][]headerField{
		"uppercase name": append(validGet(), headerField{"X-Upper", "1"}),
		"missing :path": {{":method", "GET"}, {":scheme", "https"},
			{":authority", "x"}},
		"pseudo after regular": {{":method", "GET"}, {"accept", "*/*"},
			{":scheme", "https"}, {":authority", "x"}, {":path", "/"}},
		"connection header": append(validGet(), headerField{"connection", "close"}),
		"response pseudo":   append(validGet(), headerField{":status", "200"}),
		"repeated pseudo": {{":method", "GET"}, {":method", "GET"},
			{":scheme", "https"}, {":authority", "x"}, {":path", "/"}},
	}
	for name, fields := range bad {
		t.Run(name, func(t *testing.T) {
			wantStreamError(t, request(t, c, headersFrame(fields...)), ErrCodeMessageError)
		})
	}
	t.Run("content-length mismatch", func(t *testing.T) {
		fields := []headerField{{":method", "POST"}, {":scheme", "https"},
			{":authority", "x"}, {":path", "/echo"}, {"content-length", "10"}}
		b := headersFrame(fields...)
		b = appendFrame(b, frameData, []byte("abc"))
		wantStreamError(t, request(t, c, b), ErrCodeMessageError)
	})
	// Reserved frame and stream types are ignored, and the connection
	// still serves a good request.
	uni(t, c, []byte{0x21, 1, 2, 3})
	b := appendFrame(nil, 0x21+0x1f*3, []byte("grease"))
	b = append(b, headersFrame(validGet()...)...)
	s := request(t, c, b)
	fr := newFrameReader(s)
	fields, err := readHeaders(fr, 1<<16, false)
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := responseFromFields(fields)
	if err != nil || code != http.StatusOK {
		t.Errorf("good request after the errors: got %d, %v", code, err)
	}
	if c.Err() != nil {
		t.Errorf("connection closed: %v", c.Err())
	}
}
