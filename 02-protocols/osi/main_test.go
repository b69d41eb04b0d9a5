package main

import (
	"backend-protocols/internal/leak"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"backend-protocols/02-protocols/osi/layers"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
)

const requestLine = "GET /hello HTTP/1.1\r\n"

// TestHandBuiltMatchesCapture: the frame built by hand is the frame the
// kernel sent, byte for byte, field by field.
func TestHandBuiltMatchesCapture(t *testing.T) {
	if err := netns.Available(); err != nil {
		t.Skipf("no network namespaces: %v", err)
	}
	fds := len(leak.FDs())
	res, err := scenario(context.Background(), timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	checkLeaks(t, fds)
	if res.NoCapture != "" {
		t.Fatalf("got no capture: %s", res.NoCapture)
	}
	if !bytes.HasPrefix(res.App, []byte(requestLine)) {
		t.Errorf("got application bytes %q, want a GET", res.App)
	}
	for _, r := range res.Rows {
		if r.Built != r.Captured {
			t.Errorf("%s: built %s, captured %s", r.Field, r.Built, r.Captured)
		}
	}
	if !res.Equal {
		t.Errorf("frames differ:\nbuilt    % x\ncaptured % x", res.Built, res.Captured)
	}
	if res.Partial {
		t.Error("the capture has a checksum left to the card; offloads should be off")
	}
	// The captured frame passes the same decoder's checksum checks.
	f, err := layers.Decode(res.Captured)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Payload, res.App) {
		t.Errorf("captured data %q, want the request %q", f.Payload, res.App)
	}
}

// TestHandBuiltWithoutCapture runs the fallback a reader without root sees.
func TestHandBuiltWithoutCapture(t *testing.T) {
	tl := timeline.Quiet()
	res, err := handOnly(context.Background(), tl, "testing the fallback")
	if err != nil {
		t.Fatal(err)
	}
	f, err := layers.Decode(res.Built)
	if err != nil {
		t.Fatalf("the hand-built frame does not decode: %v", err)
	}
	if !bytes.Equal(f.Payload, res.App) || !bytes.HasPrefix(f.Payload, []byte(requestLine)) {
		t.Errorf("got data %q, want the request", f.Payload)
	}
	if f.IP.Src.String() != "127.0.0.1" || f.TCP.Flags != layers.PSH|layers.ACK {
		t.Errorf("got %v flags %s", f.IP.Src, layers.FlagString(f.TCP.Flags))
	}
	printed := false
	for _, e := range tl.Events() {
		printed = printed || strings.Contains(e.Text, "version, IHL: 4, 5 words")
	}
	if !printed {
		t.Error("the annotated dump was not printed")
	}
}

// checkLeaks fails if the scenario left a goroutine, a descriptor or a
// thread in a namespace behind.
func checkLeaks(t *testing.T, fds int) {
	t.Helper()
	if left := leak.Gone(5*time.Second, "(*capture).loop", "net/http.(*conn).serve",
		"net/http.(*persistConn)"); len(left) > 0 {
		t.Errorf("goroutines left: %v", left)
	}
	if s := netns.StrayThreads(); len(s) > 0 {
		t.Errorf("threads left in a namespace: %v", s)
	}
	if now := leak.FDs(); len(now) > fds {
		t.Errorf("got %d descriptors open, had %d: %v", len(now), fds, now)
	}
}
