package h2tap

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"backend-protocols/internal/certs"
	"backend-protocols/internal/leak"
)

// waitClosed waits until the tap has reported n connections closed in
// all.
func waitClosed(t *testing.T, rec *Recorder, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rec.WaitClosed(ctx, n); err != nil {
		t.Fatalf("waiting for %d closed connections: %v", n, err)
	}
}

// startServer serves h on loopback: TLS (h2 and http/1.1) if ca is set,
// else HTTP/1.1 and h2c with prior knowledge.
func startServer(t *testing.T, h http.Handler, ca *certs.CA) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, Protocols: &http.Protocols{}}
	srv.Protocols.SetHTTP1(true)
	if ca != nil {
		if srv.TLSConfig, err = ca.ServerConfig(); err != nil {
			t.Fatal(err)
		}
		srv.Protocols.SetHTTP2(true)
		go srv.ServeTLS(ln, "", "")
	} else {
		srv.Protocols.SetUnencryptedHTTP2(true)
		go srv.Serve(ln)
	}
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func startTap(t *testing.T, opt Options) (*Tap, *Recorder) {
	t.Helper()
	rec := NewRecorder(nil)
	opt.OnFrame, opt.OnConn = rec.OnFrame, rec.OnConn
	tap, err := Listen("127.0.0.1:0", opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tap.Close()
		if left := leak.Gone(2*time.Second, "h2tap.(*Tap)"); len(left) > 0 {
			t.Errorf("tap goroutines left after Close:\n%s", strings.Join(left, "\n\n"))
		}
	})
	return tap, rec
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-proto", r.Proto)
	io.WriteString(w, "hello from "+r.URL.Path)
})

func get(t *testing.T, tr *http.Transport, url string) *http.Response {
	t.Helper()
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want := "hello from /x"; string(body) != want {
		t.Errorf("got body %q, want %q", body, want)
	}
	return resp
}

// find returns the frames of one type sent in one direction.
func find(frames []Frame, dir Direction, typ http2.FrameType) []Frame {
	var out []Frame
	for _, f := range frames {
		if !f.Preface && f.Dir == dir && f.Type() == typ {
			out = append(out, f)
		}
	}
	return out
}

// checkExchange asserts the frames of one GET /x answered by hello.
func checkExchange(t *testing.T, frames []Frame, scheme string) {
	t.Helper()
	if len(frames) == 0 || !frames[0].Preface || frames[0].Dir != ClientToServer {
		t.Fatalf("got first frame %v, want the client preface", frames)
	}
	if s := find(frames, ServerToClient, http2.FrameSettings); len(s) < 2 {
		t.Errorf("got %d SETTINGS from the server, want its own and an ACK", len(s))
	}
	req := find(frames, ClientToServer, http2.FrameHeaders)
	if len(req) != 1 {
		t.Fatalf("got %d request HEADERS, want 1", len(req))
	}
	for name, want := range map[string]string{":method": "GET",
		":path": "/x", ":scheme": scheme} {
		if v, _ := req[0].Field(name); v != want {
			t.Errorf("request %s: got %q, want %q", name, v, want)
		}
	}
	resp := find(frames, ServerToClient, http2.FrameHeaders)
	if len(resp) != 1 {
		t.Fatalf("got %d response HEADERS, want 1", len(resp))
	}
	if v, _ := resp[0].Field(":status"); v != "200" {
		t.Errorf("got :status %q, want 200", v)
	}
	if v, _ := resp[0].Field("x-proto"); v != "HTTP/2.0" {
		t.Errorf("got x-proto %q, want HTTP/2.0", v)
	}
	data := find(frames, ServerToClient, http2.FrameData)
	var body []byte
	for _, d := range data {
		body = append(body, d.Data...)
	}
	if string(body) != "hello from /x" || !data[len(data)-1].Has(http2.FlagDataEndStream) {
		t.Errorf("got DATA %q, want the body and END_STREAM", body)
	}
	for _, f := range frames {
		if f.Err != nil {
			t.Errorf("%v", f)
		}
	}
}

func TestH2C(t *testing.T) {
	tap, rec := startTap(t, Options{Target: startServer(t, hello, nil), MaxData: 64})
	tr := &http.Transport{Protocols: &http.Protocols{}}
	tr.Protocols.SetUnencryptedHTTP2(true)
	resp := get(t, tr, "http://"+tap.Addr().String()+"/x")
	if resp.Proto != "HTTP/2.0" {
		t.Errorf("got %s, want HTTP/2.0", resp.Proto)
	}
	waitClosed(t, rec, 1)
	checkExchange(t, rec.Frames(), "http")
}

func TestTLSWithALPN(t *testing.T) {
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	tapTLS, err := ca.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	tap, rec := startTap(t, Options{Target: startServer(t, hello, ca),
		TLS: tapTLS, UpstreamTLS: ca.ClientConfig(), MaxData: 64})
	tr := &http.Transport{TLSClientConfig: ca.ClientConfig(), ForceAttemptHTTP2: true}
	resp := get(t, tr, "https://"+tap.Addr().String()+"/x")
	if resp.Proto != "HTTP/2.0" || resp.TLS.NegotiatedProtocol != "h2" {
		t.Errorf("got %s with ALPN %q, want HTTP/2.0 and h2", resp.Proto,
			resp.TLS.NegotiatedProtocol)
	}
	waitClosed(t, rec, 1)
	checkExchange(t, rec.Frames(), "https")
	if rec.Conns()[0].Proto != "h2" {
		t.Errorf("got conn event %+v, want ALPN h2", rec.Conns()[0])
	}

	// A client that offers only http/1.1 is relayed undecoded.
	tr = &http.Transport{TLSClientConfig: ca.ClientConfig()}
	tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	before := len(rec.Frames())
	resp = get(t, tr, "https://"+tap.Addr().String()+"/x")
	if resp.Proto != "HTTP/1.1" {
		t.Errorf("got %s, want HTTP/1.1", resp.Proto)
	}
	waitClosed(t, rec, 2)
	if n := len(rec.Frames()); n != before {
		t.Errorf("got %d frames from an HTTP/1.1 connection, want none", n-before)
	}
}

func TestHTTP1IsRelayedUndecoded(t *testing.T) {
	tap, rec := startTap(t, Options{Target: startServer(t, hello, nil)})
	resp := get(t, &http.Transport{}, "http://"+tap.Addr().String()+"/x")
	if resp.Proto != "HTTP/1.1" {
		t.Errorf("got %s, want HTTP/1.1", resp.Proto)
	}
	waitClosed(t, rec, 1)
	f := rec.Frames()
	if len(f) != 1 || !errors.Is(f[0].Err, ErrNotHTTP2) {
		t.Errorf("got %v, want one ErrNotHTTP2 report", f)
	}
}

func TestUnreachableTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	tap, rec := startTap(t, Options{Target: dead})
	c, err := net.Dial("tcp", tap.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("got %v, want the tap to hang up", err)
	}
	waitClosed(t, rec, 1)
	if rec.Conns()[0].Err == nil {
		t.Error("got no error for an unreachable target")
	}
}

// nghttpLine matches nghttp -v frame lines such as
// "[  0.001] send SETTINGS frame <length=12, flags=0x00, stream_id=0>".
var nghttpLine = regexp.MustCompile(
	`\] (send|recv) (\w+) frame <length=(\d+), flags=0x([0-9a-f]{2}), stream_id=(\d+)>`)

// TestNghttpSeesTheSameFrames runs nghttp, an independent HTTP/2 client
// that prints every frame it sends and receives, through the tap to a
// net/http h2c server, and compares its account with the tap's, frame by
// frame in each direction.
func TestNghttpSeesTheSameFrames(t *testing.T) {
	path, err := exec.LookPath("nghttp")
	if err != nil {
		t.Skip("nghttp not installed (Debian package nghttp2-client)")
	}
	tap, rec := startTap(t, Options{Target: startServer(t, hello, nil)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url := "http://" + tap.Addr().String() + "/x"
	out, err := exec.CommandContext(ctx, path, "-nv", url, url+"?again").CombinedOutput()
	if err != nil {
		t.Fatalf("nghttp: %v\n%s", err, out)
	}
	waitClosed(t, rec, 1)
	var theirs [2][]string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		m := nghttpLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		dir := ClientToServer
		if m[1] == "recv" {
			dir = ServerToClient
		}
		flags, _ := strconv.ParseUint(m[4], 16, 8)
		theirs[dir] = append(theirs[dir],
			fmt.Sprintf("%s len=%s flags=%d stream=%s", m[2], m[3], flags, m[5]))
	}
	var ours [2][]string
	for _, f := range rec.Frames() {
		if f.Preface {
			continue
		}
		h := f.Header
		ours[f.Dir] = append(ours[f.Dir], fmt.Sprintf("%v len=%d flags=%d stream=%d",
			h.Type, h.Length, h.Flags, h.StreamID))
		if f.Err != nil {
			t.Errorf("%v", f)
		}
	}
	// nghttp stops logging once it has sent its GOAWAY; the server's
	// GOAWAY in reply may reach the tap after that.
	if n := len(ours[ServerToClient]); n > len(theirs[ServerToClient]) &&
		strings.HasPrefix(ours[ServerToClient][n-1], "GOAWAY") {
		ours[ServerToClient] = ours[ServerToClient][:n-1]
	}
	for dir := range 2 {
		a, b := strings.Join(theirs[dir], "\n"), strings.Join(ours[dir], "\n")
		if a != b || len(theirs[dir]) < 3 {
			t.Errorf("%v: nghttp says\n%s\nthe tap saw\n%s", Direction(dir), a, b)
		}
	}
	if got := len(find(rec.Frames(), ClientToServer, http2.FrameHeaders)); got != 2 {
		t.Errorf("got %d requests, want 2 on one connection", got)
	}
}

// TestTLSHandshakeFailure: a client that does not trust the tap's
// certificate is turned away and reported.
func TestTLSHandshakeFailure(t *testing.T) {
	ca, _ := certs.NewCA()
	tapTLS, _ := ca.ServerConfig()
	tap, rec := startTap(t, Options{Target: startServer(t, hello, ca),
		TLS: tapTLS, UpstreamTLS: ca.ClientConfig()})
	other, _ := certs.NewCA()
	cfg := other.ClientConfig()
	cfg.ServerName = "localhost"
	c, err := tls.Dial("tcp", tap.Addr().String(), cfg)
	if err == nil {
		c.Close()
		t.Fatal("handshake succeeded against an untrusted certificate")
	}
	waitClosed(t, rec, 1)
	if rec.Conns()[0].Err == nil {
		t.Error("got no error for a failed handshake")
	}
}
