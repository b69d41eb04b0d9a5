package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

func TestHTTPRequestResponseOnTheWire(t *testing.T) {
	exs, err := httpScenario(context.Background(), timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) != 2 {
		t.Fatalf("got %d exchanges, want 2", len(exs))
	}
	first := exs[0]
	req := string(first.Request)
	if !strings.HasPrefix(req, "POST /sum HTTP/1.1\r\nHost: 127.0.0.1:") ||
		!strings.Contains(req, "\r\nContent-Length: 13\r\n") ||
		!strings.HasSuffix(req, "\r\n\r\n"+`{"a":2,"b":3}`) {
		t.Errorf("got request bytes %q", req)
	}
	resp := string(first.Response)
	if !strings.HasPrefix(resp, "HTTP/1.1 200 OK\r\n") ||
		!strings.HasSuffix(resp, "\r\n\r\n"+`{"sum":5}`+"\n") {
		t.Errorf("got response bytes %q", resp)
	}
	// The phases happen in the order of the exchange.
	order := []string{"connected", "request written", "first response byte", "response read"}
	last := time.Duration(-1)
	for _, name := range order {
		at := first.phaseAt(name)
		if at < 0 || at < last {
			t.Errorf("phase %q at %v, after %v: want each phase after the last", name, at, last)
		}
		last = at
	}
	// The second request reuses the connection: no connect phase at all.
	second := exs[1]
	if !second.Reused || second.phaseAt("connect start") >= 0 {
		t.Errorf("second request: got reused=%v, phases %v; want a kept-alive connection",
			second.Reused, second.Phases)
	}
	if strings.TrimSpace(second.Body) != `{"sum":42}` {
		t.Errorf("got body %q, want {\"sum\":42}", second.Body)
	}
}

func TestBadHTTPBodyIs400(t *testing.T) {
	srv := &http.Server{Handler: newMux()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for _, body := range []string{`{"a":1`, `{"c":1}`, strings.Repeat(" ", 2000) + "{}"} {
		resp, err := http.Post("http://"+ln.Addr().String()+"/sum",
			"application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("body %.20q: got %d, want 400", body, resp.StatusCode)
		}
	}
}

func TestLineProtocol(t *testing.T) {
	exs, err := lineScenario(context.Background(), timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"OK 5", "PONG", "ERR usage: SUM <int> <int>",
		`ERR unknown command "FETCH"`, "BYE"}
	if len(exs) != len(want) {
		t.Fatalf("got %d responses, want %d", len(exs), len(want))
	}
	for i, ex := range exs {
		if ex.Response != want[i] {
			t.Errorf("%q: got %q, want %q", ex.Request, ex.Response, want[i])
		}
	}
}

// TestLineServerSurvivesAbuse sends an oversized line and a half request
// on other connections, and checks that a well-behaved client is served.
func TestLineServerSurvivesAbuse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveLines(ctx, ln, timeline.Quiet()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	addr := ln.Addr().String()
	// A client that sends half a line and stalls.
	stall, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Close()
	io.WriteString(stall, "SUM 1")
	// A client that sends a line far over the limit.
	big, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	go io.WriteString(big, strings.Repeat("A", 10*maxLine)+"\n")
	big.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(big)
	line, _ := br.ReadString('\n')
	if line != "ERR line too long\n" {
		t.Errorf("oversized line: got %q, want ERR line too long", line)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Error("connection still open after an oversized line")
	}
	exs, err := exchangeLines(context.Background(), timeline.Quiet(), addr,
		[]string{"SUM 20 22"})
	if err != nil || exs[0].Response != "OK 42" {
		t.Errorf("well-behaved client: got %v, %v; want OK 42", exs, err)
	}
}

func TestAnswer(t *testing.T) {
	cases := []struct {
		in, want string
		quit     bool
	}{
		{"SUM 2 3", "OK 5", false},
		{"sum -2 3", "OK 1", false},
		{"SUM 2147483647 1", "OK 2147483648", false},
		{"SUM 9999999999 1", "ERR usage: SUM <int> <int>", false},
		{"", "ERR empty request", false},
		{"QUIT", "BYE", true},
	}
	for _, c := range cases {
		got, quit := answer(c.in)
		if got != c.want || quit != c.quit {
			t.Errorf("answer(%q): got %q, %v; want %q, %v", c.in, got, quit, c.want, c.quit)
		}
	}
}

// FuzzAnswer checks the line protocol's parser never panics and always
// answers with a single line.
func FuzzAnswer(f *testing.F) {
	for _, s := range exampleLines {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		resp, _ := answer(line)
		if resp == "" || strings.ContainsAny(resp, "\r\n") {
			t.Errorf("answer(%q) = %q, want one non-empty line", line, resp)
		}
	})
}
