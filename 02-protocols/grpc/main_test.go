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

	"golang.org/x/net/http2"

	"backend-protocols/02-protocols/grpc/grpcwire"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/leak"
	"backend-protocols/internal/timeline"
)

func TestScenario(t *testing.T) {
	// As under the demo harness, the run has a deadline, which every
	// call sends as grpc-timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := scenario(ctx, timeline.Quiet(), "buy milk")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("createTodo", func(t *testing.T) {
		if res.Created == nil || res.Created.ID != 1 || res.Created.Text != "buy milk" {
			t.Errorf("got %v, want id 1 and the text", res.Created)
		}
		r := res.Request
		for k, v := range map[string]string{":method": "POST", ":path": "/todoPackage.Todo/createTodo",
			"content-type": "application/grpc", "te": "trailers"} {
			if r.Headers[k] != v {
				t.Errorf("request %s: got %q, want %q", k, r.Headers[k], v)
			}
		}
		if !regexp.MustCompile(`^\d{1,8}[HMSmun]$`).MatchString(r.Headers["grpc-timeout"]) {
			t.Errorf("got grpc-timeout %q", r.Headers["grpc-timeout"])
		}
		// id -1 (10 bytes) and "buy milk" (8): 2+10+2+8 = 21 = 0x15.
		if string(r.Prefix) != "\x00\x00\x00\x00\x15" {
			t.Errorf("got message prefix % x, want 00 00 00 00 15", r.Prefix)
		}
		if r.Status != "0" || !r.Trailers {
			t.Errorf("got grpc-status %q in END_STREAM trailers %v, want 0 and true", r.Status, r.Trailers)
		}
	})
	t.Run("readTodosStream", func(t *testing.T) {
		if len(res.Streamed) != 3 || !res.Done || res.Listed != 3 {
			t.Fatalf("got %d streamed (done %v), %d listed; want 3, true, 3",
				len(res.Streamed), res.Done, res.Listed)
		}
		for i, it := range res.Streamed {
			if it.ID != int32(i+1) {
				t.Errorf("item %d has id %d", i, it.ID)
			}
		}
	})
	t.Run("Trailers-Only error", func(t *testing.T) {
		v := res.Invalid
		if v.Status.Code != grpcwire.InvalidArgument || !strings.Contains(v.Status.Message, "—") {
			t.Errorf("got %v, want INVALID_ARGUMENT with the dash decoded", v.Status)
		}
		if !strings.Contains(v.WireMessage, "%E2%80%94") || !v.TrailersOnly {
			t.Errorf("got grpc-message %q, Trailers-Only %v; want %%E2%%80%%94 and true",
				v.WireMessage, v.TrailersOnly)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		d := res.Deadline
		if d.Status.Code != grpcwire.DeadlineExceeded {
			t.Errorf("got %v, want DEADLINE_EXCEEDED", d.Status)
		}
		if d.Took < 100*time.Millisecond || d.Took > 900*time.Millisecond {
			t.Errorf("gave up after %v, want soon after 100ms", d.Took)
		}
		t0, err := grpcwire.ParseTimeout(d.Timeout)
		if err != nil || t0 > 100*time.Millisecond || t0 < 50*time.Millisecond {
			t.Errorf("got grpc-timeout %q, want about 100ms", d.Timeout)
		}
		if d.Server != grpcwire.DeadlineExceeded && d.Server != grpcwire.Canceled {
			t.Errorf("server ended with %v, want its context done", d.Server)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		c := res.Cancel
		if c.Status.Code != grpcwire.Canceled || c.Received != 2 {
			t.Errorf("got %v after %d responses, want CANCELLED after 2", c.Status, c.Received)
		}
		if c.Reset != http2.ErrCodeCancel || c.Server != grpcwire.Canceled {
			t.Errorf("got RST_STREAM %v, server %v; want CANCEL and CANCELLED", c.Reset, c.Server)
		}
	})
	t.Run("TLS", func(t *testing.T) {
		if res.TLS.ALPN != "h2" || res.TLS.ID != 4 {
			t.Errorf("got ALPN %q, id %d; want h2 and 4", res.TLS.ALPN, res.TLS.ID)
		}
	})
	if left := leak.Gone(2*time.Second, "grpcwire.", "h2tap.(*Tap)"); len(left) > 0 {
		t.Errorf("goroutines left:\n%s", strings.Join(left, "\n\n"))
	}
}

// startServe runs -serve on a free port and returns its address.
func startServe(t *testing.T, frames, useTLS bool) (string, *timeline.Timeline) {
	t.Helper()
	tl := timeline.Quiet()
	addr, stop, err := demo.Background(func(ctx context.Context, ready func(string)) error {
		return serve(ctx, tl, "127.0.0.1:0", frames, useTLS, ready)
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

func grpcurl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("grpcurl")
	if err != nil {
		t.Skip("grpcurl not installed (.ci/setup.d/grpc.sh builds it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	return string(out), err
}

// TestServeWithGrpcurl points grpcurl, which encodes and decodes with
// protobuf-go from the checked-in .proto files, at -serve.
func TestServeWithGrpcurl(t *testing.T) {
	addr, _ := startServe(t, false, false)
	todo := []string{"-plaintext", "-import-path", ".", "-proto", "todo.proto"}
	out, err := grpcurl(t, append(todo, "-d", `{"id": -1, "text": "buy milk"}`, addr,
		"todoPackage.Todo/createTodo")...)
	if err != nil || !strings.Contains(out, `"id": 1`) || !strings.Contains(out, `"text": "buy milk"`) {
		t.Errorf("createTodo: %v\n%s", err, out)
	}
	out, err = grpcurl(t, append(todo, addr, "todoPackage.Todo/readTodosStream")...)
	if err != nil || strings.Count(out, `"text"`) != 1 {
		t.Errorf("readTodosStream: %v\n%s", err, out)
	}
	out, err = grpcurl(t, append(todo, "-d", `{"text": ""}`, addr, "todoPackage.Todo/createTodo")...)
	if err == nil || !strings.Contains(out, "InvalidArgument") ||
		!strings.Contains(out, "a to-do needs text — «» is empty") {
		t.Errorf("empty text: got %v\n%s\nwant InvalidArgument and the message decoded", err, out)
	}
	test := []string{"-plaintext", "-import-path", "interop", "-proto", "testing.proto"}
	out, err = grpcurl(t, append(test, "-v", "-H", "x-grpc-test-echo-initial: hello",
		"-d", `{"response_size": 3}`, addr, "grpc.testing.TestService/UnaryCall")...)
	if err != nil || !strings.Contains(out, `"body": "AAAA"`) ||
		!strings.Contains(out, "x-grpc-test-echo-initial: hello") {
		t.Errorf("UnaryCall: %v\n%s", err, out)
	}
	out, err = grpcurl(t, append(test, "-max-time", "0.2", "-d",
		`{"response_parameters": [{"size": 1, "interval_us": 2000000}]}`, addr,
		"grpc.testing.TestService/StreamingOutputCall")...)
	if err == nil || !strings.Contains(out, "DeadlineExceeded") {
		t.Errorf("deadline: got %v\n%s\nwant DeadlineExceeded", err, out)
	}
}

func TestServeTLSWithGrpcurl(t *testing.T) {
	addr, _ := startServe(t, true, true)
	ca := filepath.Join(os.TempDir(), "grpc-demo-ca.pem")
	out, err := grpcurl(t, "-cacert", ca, "-import-path", ".", "-proto", "todo.proto",
		"-d", `{"text": "over TLS"}`, addr, "todoPackage.Todo/createTodo")
	if err != nil || !strings.Contains(out, `"text": "over TLS"`) {
		t.Errorf("%v\n%s", err, out)
	}
}

// TestServeWithGrpcGo runs grpc-go's interop client against -serve.
func TestServeWithGrpcGo(t *testing.T) {
	bin, err := exec.LookPath("grpc-interop-client")
	if err != nil {
		t.Skip("grpc-interop-client not installed (.ci/setup.d/grpc.sh builds it)")
	}
	addr, _ := startServe(t, false, false)
	host, port, _ := strings.Cut(addr, ":")
	for _, c := range []string{"large_unary", "ping_pong", "custom_metadata"} {
		out, err := exec.Command(bin, "--server_host="+host, "--server_port="+port,
			"--test_case="+c).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", c, err, out)
		}
	}
}

// TestConnectThroughFrames runs the course's client against -serve with
// -frames, which prints the frames it relays.
func TestConnectThroughFrames(t *testing.T) {
	addr, stl := startServe(t, true, false)
	tl := timeline.Quiet()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := connect(ctx, tl, addr, "from -connect"); err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range tl.Events() {
		notes = append(notes, e.Text)
	}
	got := strings.Join(notes, "\n")
	if !strings.Contains(got, `{"id":1,"text":"from -connect"}`) || !strings.HasSuffix(got, "server done!") {
		t.Errorf("got\n%s", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := 0
		for _, e := range stl.Events() {
			if e.Kind == timeline.Send && strings.Contains(e.Text, "grpc-status") ||
				strings.Contains(e.Text, "TodoItem {") {
				n++
			}
		}
		if n >= 2 || time.Now().After(deadline) {
			if n < 2 {
				t.Errorf("-frames printed no decoded messages")
			}
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestServeWithNghttp makes a gRPC call with nghttp, an independent
// HTTP/2 client that prints every frame: the response is HEADERS, one
// DATA frame per to-do, then the trailers with END_STREAM.
func TestServeWithNghttp(t *testing.T) {
	nghttp, err := exec.LookPath("nghttp")
	if err != nil {
		t.Skip("nghttp not installed (Debian package nghttp2-client)")
	}
	addr, _ := startServe(t, false, false)
	tr := grpcwire.H2C()
	defer tr.CloseIdleConnections()
	c := grpcwire.NewClient("http://"+addr, tr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, text := range []string{"one", "two"} {
		if err := c.Invoke(ctx, todoService+"createTodo", &TodoItem{Text: text}, &TodoItem{}); err != nil {
			t.Fatal(err)
		}
	}
	void := filepath.Join(t.TempDir(), "void.bin")
	if err := os.WriteFile(void, []byte{0, 0, 0, 0, 0}, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, nghttp, "-v", "-H", ":method: POST",
		"-H", "content-type: application/grpc", "-H", "te: trailers", "-d", void,
		"http://"+addr+todoService+"readTodosStream").CombinedOutput()
	if err != nil {
		t.Fatalf("nghttp: %v\n%s", err, out)
	}
	got := string(out)
	data := strings.Count(got, "recv DATA frame")
	status := strings.Index(got, "grpc-status: 0")
	if data != 2 || status < strings.LastIndex(got, "recv DATA frame") ||
		!strings.Contains(got[status:], "END_STREAM | END_HEADERS") {
		t.Errorf("got %d DATA frames, status at %d; want 2 and then trailers:\n%s", data, status, got)
	}
}

// FuzzTodoMessages decodes arbitrary bytes as the to-do messages.
func FuzzTodoMessages(f *testing.F) {
	f.Add((&TodoItems{Items: []*TodoItem{{ID: -1, Text: "x"}}}).MarshalAppend(nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, m := range []grpcwire.Message{&VoidNoParam{}, &TodoItem{}, &TodoItems{}} {
			if err := m.Unmarshal(in); err != nil {
				continue
			}
			if err := m.Unmarshal(m.MarshalAppend(nil)); err != nil {
				t.Fatalf("%T: re-encoding of % x does not decode: %v", m, in, err)
			}
		}
	})
}
