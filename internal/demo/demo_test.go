package demo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

func run(t *testing.T, ctx context.Context, m Modes, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := New("t", "about", m).Run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestScenarioPasses(t *testing.T) {
	code, out, _ := run(t, context.Background(), Modes{
		Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
			tl.Note("client", "hello")
			return nil
		}})
	if code != 0 || !strings.Contains(out, "client") ||
		!strings.Contains(out, "done in") {
		t.Errorf("got code %d, output %q", code, out)
	}
}

func TestScenarioFailsLoudly(t *testing.T) {
	code, _, errs := run(t, context.Background(), Modes{
		Scenario: func(context.Context, *timeline.Timeline) error {
			return errors.New("step 2: got 500, want 200")
		}})
	if code != 1 || !strings.Contains(errs, "FAIL t: step 2: got 500") {
		t.Errorf("got code %d, stderr %q", code, errs)
	}
}

func TestScenarioTimesOut(t *testing.T) {
	code, _, errs := run(t, context.Background(), Modes{
		Scenario: func(ctx context.Context, _ *timeline.Timeline) error {
			<-ctx.Done()
			return ctx.Err()
		}}, "-timeout", "20ms")
	if code != 1 || !strings.Contains(errs, "timed out after 20ms") {
		t.Errorf("got code %d, stderr %q", code, errs)
	}
}

func TestHungScenarioIsAbandoned(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	code, _, errs := run(t, context.Background(), Modes{
		Scenario: func(context.Context, *timeline.Timeline) error {
			<-release // ignores its context
			return nil
		}}, "-timeout", "10ms")
	if code != 1 || !strings.Contains(errs, "did not stop") {
		t.Errorf("got code %d, stderr %q", code, errs)
	}
	if d := time.Since(start); d > grace+time.Second {
		t.Errorf("took %v to give up", d)
	}
}

func TestFlags(t *testing.T) {
	m := Modes{Scenario: func(context.Context, *timeline.Timeline) error {
		return nil
	}}
	if code, _, _ := run(t, context.Background(), m, "-nope"); code != 2 {
		t.Errorf("unknown flag: got code %d, want 2", code)
	}
	// -serve exists only when the demo can serve.
	if code, _, _ := run(t, context.Background(), m, "-serve", "x"); code != 2 {
		t.Errorf("-serve without Serve: got code %d, want 2", code)
	}
	code, _, errs := run(t, context.Background(), m, "-h")
	if code != 0 || !strings.Contains(errs, "about") {
		t.Errorf("-h: got code %d, usage %q", code, errs)
	}
	m.Serve = func(context.Context, string, *timeline.Timeline) error { return nil }
	m.Connect = m.Serve
	code, _, errs = run(t, context.Background(), m, "-serve", "a", "-connect", "b")
	if code != 2 || !strings.Contains(errs, "exclusive") {
		t.Errorf("-serve with -connect: got code %d, stderr %q", code, errs)
	}
}

// TestServeUntilInterrupted runs -serve with a real HTTP server, fetches
// from it, then cancels the context as SIGINT would.
func TestServeUntilInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := make(chan string, 1)
	var code int
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, _, _ = run(t, ctx, Modes{
			Scenario: func(context.Context, *timeline.Timeline) error { return nil },
			Serve: func(ctx context.Context, addr string, _ *timeline.Timeline) error {
				ln, err := Listen(addr)
				if err != nil {
					return err
				}
				up <- ln.Addr().String()
				return ServeHTTP(ctx, &http.Server{Handler: http.HandlerFunc(
					func(w http.ResponseWriter, r *http.Request) {
						io.WriteString(w, "hi")
					})}, ln)
			}}, "-serve", "127.0.0.1:0")
	}()
	addr := <-up
	resp, err := http.Get("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hi" {
		t.Errorf("got %q, want hi", body)
	}
	cancel()
	<-done
	if code != 0 {
		t.Errorf("got exit code %d after interrupt, want 0", code)
	}
}

// TestShutdownEndsLongRequests checks that a handler waiting on its
// request context (an event stream, a held poll) returns on shutdown.
func TestShutdownEndsLongRequests(t *testing.T) {
	entered := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			http.NewResponseController(w).Flush()
			close(entered)
			<-r.Context().Done()
		})}
	r, err := StartHTTP(context.Background(), srv, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-entered
	start := time.Now()
	if err := r.Close(); err != nil {
		t.Errorf("got %v, want a clean shutdown", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("shutdown took %v with a long request open", d)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRaiseFileLimit(t *testing.T) {
	got, err := RaiseFileLimit(1024)
	if err != nil || got < 1024 {
		t.Errorf("got %d, %v; want at least 1024", got, err)
	}
}

func TestIsSet(t *testing.T) {
	p := New("t", "about", Modes{Scenario: func(context.Context, *timeline.Timeline) error {
		return nil
	}})
	p.Flags.Duration("tick", time.Second, "")
	p.Flags.Duration("poll", time.Second, "")
	if code := p.Run(context.Background(), []string{"-tick", "3s"}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("got code %d", code)
	}
	if !p.IsSet("tick") || p.IsSet("poll") {
		t.Errorf("got IsSet(tick)=%v IsSet(poll)=%v, want true false",
			p.IsSet("tick"), p.IsSet("poll"))
	}
}

func TestStartChild(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := StartChild(ctx, exec.Command("sh", "-c",
		"echo starting; echo 'server listening on http://127.0.0.1:4321 (x)'; sleep 30"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:4321" {
		t.Errorf("got address %q", c.Addr)
	}
	c.Kill()
	if _, err := StartChild(ctx, exec.Command("true")); err == nil {
		t.Error("a child that never listens: got no error")
	}
}

func TestStart(t *testing.T) {
	served := make(chan string, 1)
	r, err := Start(context.Background(), "127.0.0.1:0",
		func(ctx context.Context, ln net.Listener) error {
			served <- ln.Addr().String()
			<-ctx.Done()
			ln.Close()
			return errors.New("stopped")
		})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-served; got != r.Addr || r.URL != "http://"+got {
		t.Errorf("got %s %s, want the listener's address", r.Addr, r.URL)
	}
	if err := r.Close(); err == nil || err.Error() != "stopped" {
		t.Errorf("Close: got %v, want serve's error", err)
	}
}

func TestServeConns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeConns(ctx, ln, func(c net.Conn) { io.Copy(c, c) })
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo: got %q, %v", buf, err)
	}
	cancel() // closes the open connection too
	if err := <-done; err != nil {
		t.Errorf("got %v, want nil after ctx ends", err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(buf); err == nil {
		t.Error("connection still open after ServeConns returned")
	}
}
