package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

func TestScenario(t *testing.T) {
	cfg := defaults
	cfg.Slow = 400 * time.Millisecond // room for a loaded machine
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("h2c", func(t *testing.T) {
		if res.H2C.Proto != "HTTP/2.0" || res.H2C.Frames < 8 {
			t.Errorf("got %s with %d frames, want HTTP/2.0 and at least 8",
				res.H2C.Proto, res.H2C.Frames)
		}
	})
	t.Run("TLS", func(t *testing.T) {
		r := res.TLS
		if r.ALPN != "h2" || r.Proto != "HTTP/2.0" {
			t.Errorf("got ALPN %q and %s, want h2 and HTTP/2.0", r.ALPN, r.Proto)
		}
		if !r.ClientReset || !r.HandlerCanceled {
			t.Errorf("got RST_STREAM %v, handler cancelled %v; want both",
				r.ClientReset, r.HandlerCanceled)
		}
		if !r.PingAcked || !r.GoAway {
			t.Errorf("got PING acked %v, GOAWAY %v; want both", r.PingAcked, r.GoAway)
		}
	})
	t.Run("multiplexing", func(t *testing.T) {
		m := res.Mux
		if m.Responses != 100 || m.Streams != 100 {
			t.Errorf("got %d responses on %d streams, want 100 and 100",
				m.Responses, m.Streams)
		}
		if m.Conns != 1 || m.TapConns != 1 {
			t.Errorf("got %d connections at the server, %d at the tap; want 1 and 1",
				m.Conns, m.TapConns)
		}
		if m.Together != 100 {
			t.Errorf("got %d handlers running at once, want 100", m.Together)
		}
	})
	t.Run("HPACK", func(t *testing.T) {
		req, resp := res.HPACK.Request, res.HPACK.Response
		if len(req) != 10 || len(resp) != 10 {
			t.Fatalf("got %d and %d header blocks, want 10 and 10", len(req), len(resp))
		}
		// The first sending carries every literal; by the tenth each
		// field is a one- or two-byte index.
		if req[0] < 100 || req[9] > 20 || req[9]*5 > req[0] {
			t.Errorf("got request blocks %v, want the first over 100 bytes and "+
				"the tenth under 20 and a fifth of the first", req)
		}
		if resp[9] >= resp[0] {
			t.Errorf("got response blocks %v, want the tenth smaller than the first", resp)
		}
		if res.HPACK.RequestFields <= req[0] {
			t.Errorf("got %d bytes of fields in a %d-byte block, want compression",
				res.HPACK.RequestFields, req[0])
		}
	})
	t.Run("flow control", func(t *testing.T) {
		f := res.Flow
		if f.Window != defaults.Window || f.BeforeUpdate != defaults.Window {
			t.Errorf("got window %d and %d bytes before the first WINDOW_UPDATE, want %d and %d",
				f.Window, f.BeforeUpdate, defaults.Window, defaults.Window)
		}
		if f.Overrun > 0 {
			t.Errorf("the server sent %d bytes beyond the window, want 0", f.Overrun)
		}
		if want := (defaults.BigKB<<10 - defaults.Window) / defaults.ReadChunk; f.Updates < want {
			t.Errorf("got %d WINDOW_UPDATEs, want at least %d", f.Updates, want)
		}
		if f.Total != defaults.BigKB<<10 || f.Wait <= 0 || f.Blocked <= 0 {
			t.Errorf("got %d bytes, waited %v, blocked %v; want %d and waits",
				f.Total, f.Wait, f.Blocked, defaults.BigKB<<10)
		}
	})
	t.Run("head of line", func(t *testing.T) {
		if len(res.HOL) != 3 {
			t.Fatalf("got %d rows, want 3", len(res.HOL))
		}
		for _, r := range res.HOL {
			if r.Conns != 1 || len(r.Fast) != defaults.Fast {
				t.Errorf("%s: got %d connections and %d fast responses, want 1 and %d",
					r.Name, r.Conns, len(r.Fast), defaults.Fast)
			}
			if r.Slow < cfg.Slow {
				t.Errorf("%s: slow response took %v, want at least %v", r.Name, r.Slow, cfg.Slow)
			}
		}
		if s := res.HOL[0].FastSummary(); s.Max > cfg.Slow/2 {
			t.Errorf("HTTP/2: fast responses took up to %v, want well under the slow %v",
				s.Max, cfg.Slow)
		}
		for _, r := range res.HOL[1:] {
			if s := r.FastSummary(); s.Min < cfg.Slow/2 {
				t.Errorf("%s: a fast response took %v, want it held behind the slow %v",
					r.Name, s.Min, cfg.Slow)
			}
		}
	})
	if left := leak.Gone(2*time.Second, "h2tap.(*Tap)", "main.(*server)"); len(left) > 0 {
		t.Errorf("goroutines left:\n%s", strings.Join(left, "\n\n"))
	}
}

// startServe runs -serve on a free port and returns its address.
func startServe(t *testing.T, useTLS bool) (string, *timeline.Timeline) {
	t.Helper()
	tl := timeline.Quiet()
	addr, stop, err := demo.Background(func(ctx context.Context, ready func(string)) error {
		return serve(ctx, tl, "127.0.0.1:0", useTLS, true, ready)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return addr, tl
}

// sentFrames returns the frames printed by -serve, as text.
func sentFrames(tl *timeline.Timeline) string {
	var s []string
	for _, e := range tl.Events() {
		if e.Kind == timeline.Send {
			s = append(s, e.From+" "+e.Text)
		}
	}
	return strings.Join(s, "\n")
}

// waitPrinted waits until the narrative holds a frame matching re.
func waitPrinted(t *testing.T, tl *timeline.Timeline, re string) {
	t.Helper()
	m := regexp.MustCompile(re)
	deadline := time.Now().Add(5 * time.Second)
	for !m.MatchString(sentFrames(tl)) {
		if time.Now().After(deadline) {
			t.Fatalf("no frame matching %q in:\n%s", re, sentFrames(tl))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServeWithNghttp(t *testing.T) {
	nghttp, err := exec.LookPath("nghttp")
	if err != nil {
		t.Skip("nghttp not installed (Debian package nghttp2-client)")
	}
	addr, tl := startServe(t, false)
	out, err := exec.Command(nghttp, "-nv", "http://"+addr+"/hello").CombinedOutput()
	if err != nil {
		t.Fatalf("nghttp: %v\n%s", err, out)
	}
	// nghttp prints the frames it received; the demo printed the same.
	if !strings.Contains(string(out), "recv HEADERS frame") ||
		!strings.Contains(string(out), "recv DATA frame") {
		t.Errorf("nghttp saw no response frames:\n%s", out)
	}
	waitPrinted(t, tl, `client HEADERS stream=13 END_STREAM\|END_HEADERS`)
	waitPrinted(t, tl, `server DATA stream=13 END_STREAM len=20 "hello over HTTP/2.0\\n"`)
}

func TestServeTLSWithCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	addr, tl := startServe(t, true)
	ca := filepath.Join(os.TempDir(), "http2-demo-ca.pem")
	out, err := exec.Command(curl, "-sS", "--http2", "--cacert", ca,
		"https://"+addr+"/hello").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	if string(out) != "hello over HTTP/2.0\n" {
		t.Errorf("got %q, want hello over HTTP/2.0", out)
	}
	waitPrinted(t, tl, `client HEADERS stream=1 .*:path: /hello|client HEADERS stream=1 END_STREAM`)
	waitPrinted(t, tl, `server DATA stream=1 END_STREAM`)
}

func TestConnect(t *testing.T) {
	addr, _ := startServe(t, false)
	tl := timeline.Quiet()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := connect(ctx, tl, addr, "/fast"); err != nil {
		t.Fatal(err)
	}
	got := sentFrames(tl)
	for _, want := range []string{"client PREFACE", "client HEADERS stream=1",
		`server DATA stream=1 END_STREAM len=5 "fast\n"`} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
}
