package grpcwire

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"backend-protocols/02-protocols/http2/h2tap"
)

// tapped runs the test server behind a frame tap and returns a client
// that goes through it, and the frames seen.
func tapped(t *testing.T) (*Client, func() []h2tap.Frame) {
	t.Helper()
	_, _, addr := testServer(t, nil, nil)
	var mu sync.Mutex
	var frames []h2tap.Frame
	tap, err := h2tap.Listen("127.0.0.1:0", h2tap.Options{
		Target: strings.TrimPrefix(addr, "http://"), MaxData: 16,
		OnFrame: func(f h2tap.Frame) {
			mu.Lock()
			frames = append(frames, f)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	tr := H2C()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		tap.Close()
	})
	return NewClient("http://"+tap.Addr().String(), tr), func() []h2tap.Frame {
		mu.Lock()
		defer mu.Unlock()
		return append([]h2tap.Frame(nil), frames...)
	}
}

// onStream returns the frames of one stream in one direction.
func onStream(frames []h2tap.Frame, dir h2tap.Direction, id uint32) []h2tap.Frame {
	var out []h2tap.Frame
	for _, f := range frames {
		if !f.Preface && f.Dir == dir && f.StreamID() == id {
			out = append(out, f)
		}
	}
	return out
}

// waitFrames polls until ok accepts the frames seen.
func waitFrames(t *testing.T, frames func() []h2tap.Frame, ok func([]h2tap.Frame) bool) []h2tap.Frame {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f := frames()
		if ok(f) {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("frames never complete:\n%v", f)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOnTheWire checks a unary call frame by frame against
// PROTOCOL-HTTP2.md: request headers, length-prefixed messages, and the
// status in trailers.
func TestOnTheWire(t *testing.T) {
	c, frames := tapped(t)
	md := Metadata{"x-echo-bin": {"\xab\xab\xab\xab"}, "x-plain": {"v"}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Invoke(ctx, "/test.Echo/Unary", &msg{S: "hi"}, &msg{}, WithMetadata(md)); err != nil {
		t.Fatal(err)
	}
	all := waitFrames(t, frames, func(f []h2tap.Frame) bool {
		s := onStream(f, h2tap.ServerToClient, 1)
		return len(s) > 0 && s[len(s)-1].Has(http2.FlagHeadersEndStream)
	})
	req := onStream(all, h2tap.ClientToServer, 1)
	if len(req) < 2 || req[0].Type() != http2.FrameHeaders {
		t.Fatalf("got request frames %v", req)
	}
	want := map[string]string{":method": "POST", ":scheme": "http", ":path": "/test.Echo/Unary",
		"content-type": "application/grpc", "te": "trailers", "user-agent": UserAgent,
		"x-echo-bin": "q6urqw", "x-plain": "v"} // base64 without padding
	for k, v := range want {
		if got, _ := req[0].Field(k); got != v {
			t.Errorf("request %s: got %q, want %q", k, got, v)
		}
	}
	if v, _ := req[0].Field("grpc-timeout"); !regexp.MustCompile(`^\d{1,8}[HMSmun]$`).MatchString(v) {
		t.Errorf("got grpc-timeout %q", v)
	}
	data := req[1]
	if data.Type() != http2.FrameData || string(data.Data) != "\x00\x00\x00\x00\x04\x0a\x02hi" ||
		!data.Has(http2.FlagDataEndStream) {
		t.Errorf("got request DATA %v, want the 5-byte prefix, the message and END_STREAM", data)
	}
	resp := onStream(all, h2tap.ServerToClient, 1)
	if len(resp) != 3 {
		t.Fatalf("got response frames %v, want HEADERS DATA HEADERS", resp)
	}
	if v, _ := resp[0].Field(":status"); v != "200" {
		t.Errorf("got :status %q", v)
	}
	if v, _ := resp[0].Field("content-type"); v != "application/grpc" {
		t.Errorf("got content-type %q", v)
	}
	if resp[1].Type() != http2.FrameData || resp[1].DataLen != 9 {
		t.Errorf("got %v, want a 9-byte DATA frame", resp[1])
	}
	tr := resp[2]
	if v, _ := tr.Field("grpc-status"); v != "0" || !tr.Has(http2.FlagHeadersEndStream) {
		t.Errorf("got trailers %v, want grpc-status 0 and END_STREAM", tr)
	}
}

// TestTrailersOnlyOnTheWire: an immediate error is one HEADERS frame with
// END_STREAM, its message percent-encoded to ASCII.
func TestTrailersOnlyOnTheWire(t *testing.T) {
	c, frames := tapped(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.Invoke(ctx, "/test.Echo/Fail", &msg{S: "naïve 100%", N: int64(Aborted)}, &msg{})
	if st := StatusOf(err); st.Code != Aborted || st.Message != "naïve 100%" {
		t.Fatalf("got %v", err)
	}
	all := waitFrames(t, frames, func(f []h2tap.Frame) bool {
		return len(onStream(f, h2tap.ServerToClient, 1)) > 0
	})
	resp := onStream(all, h2tap.ServerToClient, 1)
	if len(resp) != 1 || !resp[0].Has(http2.FlagHeadersEndStream) {
		t.Fatalf("got %v, want a single HEADERS with END_STREAM", resp)
	}
	for k, v := range map[string]string{":status": "200", "content-type": "application/grpc",
		"grpc-status": "10", "grpc-message": "na%C3%AFve 100%25", "why-bin": "AQI"} {
		if got, _ := resp[0].Field(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
}

// TestCancelOnTheWire: a client that gives up resets its stream.
func TestCancelOnTheWire(t *testing.T) {
	c, frames := tapped(t)
	ctx, cancel := context.WithCancel(context.Background())
	cs, err := c.NewStream(ctx, "/test.Echo/Count")
	if err != nil {
		t.Fatal(err)
	}
	cs.Send(&msg{N: 1, S: "hold"})
	cs.CloseSend()
	if err := cs.Recv(&msg{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	cs.Recv(&msg{})
	waitFrames(t, frames, func(f []h2tap.Frame) bool {
		for _, fr := range onStream(f, h2tap.ClientToServer, 1) {
			if fr.Type() == http2.FrameRSTStream && fr.ErrCode == http2.ErrCodeCancel {
				return true
			}
		}
		return false
	})
}
