package h1

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServer serves s on a loopback port until the test ends.
func startServer(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ln.Addr().String()
}

// recorder is a handler that remembers the requests it served: any path
// answers 200 "hello\n", POST echoes its body.
type recorder struct {
	mu    sync.Mutex
	paths []string
}

func (rec *recorder) serve(w *ResponseWriter, r *Request) {
	rec.mu.Lock()
	rec.paths = append(rec.paths, r.Method+" "+r.Target)
	rec.mu.Unlock()
	if r.Method == "POST" {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		for _, f := range r.Trailer {
			w.Header.Add("X-Trailer-"+f.Name, f.Value)
		}
		w.Write(b)
		return
	}
	io.WriteString(w, "hello\n")
}

func (rec *recorder) seen() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.paths...)
}

// exchange sends raw bytes on a new connection and returns what came
// back before the server closed the connection (closed is true) or the
// wait ran out.
func exchange(t *testing.T, addr, raw string, wait time.Duration) (out string, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	b, err := io.ReadAll(c)
	if err == nil {
		return string(b), true
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		// A reset after the response still means closed.
		return string(b), true
	}
	return string(b), false
}

// statuses returns the status codes of the responses in out, in order.
func statuses(out string) []string {
	var codes []string
	for _, line := range strings.Split(out, "\r\n") {
		if strings.HasPrefix(line, "HTTP/1.1 ") && len(line) >= 13 &&
			isDigit(line[9]) && isDigit(line[10]) && isDigit(line[11]) && line[12] == ' ' {
			codes = append(codes, line[9:12])
		}
	}
	return codes
}
