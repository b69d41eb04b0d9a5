package lb

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func startBackend(t *testing.T, name string) *Backend {
	t.Helper()
	b, err := StartBackend(name, BackendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func get(t *testing.T, c *http.Client, url string) (int, string, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func TestBackendAnswersWithItsName(t *testing.T) {
	b := startBackend(t, "b7")
	c := client(t)
	if code, body, err := get(t, c, b.URL()+"/any/path"); err != nil ||
		code != 200 || body != "b7\n" {
		t.Errorf("got %d %q %v, want 200 \"b7\\n\"", code, body, err)
	}
	if _, body, _ := get(t, c, b.URL()+"/headers"); !strings.Contains(body,
		"GET /headers HTTP/1.1\nHost: "+b.Addr) {
		t.Errorf("/headers: got %q", body)
	}
	if _, body, _ := get(t, c, b.URL()+"/bulk?bytes=1000000"); len(body) != 1e6 {
		t.Errorf("/bulk: got %d bytes, want 1000000", len(body))
	}
	if code, _, _ := get(t, c, b.URL()+"/bulk?bytes=-1"); code != 400 {
		t.Errorf("/bulk?bytes=-1: got %d, want 400", code)
	}
	if b.Hits() != 4 || b.Last().Target != "/bulk?bytes=-1" {
		t.Errorf("got %d hits, last %q; want 4, /bulk?bytes=-1", b.Hits(), b.Last().Target)
	}
}

func TestBackendSickResetStopStart(t *testing.T) {
	b := startBackend(t, "b1")
	c := client(t)
	b.SetSick(true)
	if code, _, _ := get(t, c, b.URL()+"/healthz"); code != 503 {
		t.Errorf("sick /healthz: got %d, want 503", code)
	}
	if code, _, _ := get(t, c, b.URL()+"/"); code != 200 {
		t.Errorf("sick /: got %d, want 200 (only the health check fails)", code)
	}
	b.SetSick(false)
	b.SetReset(true)
	if _, _, err := get(t, c, b.URL()+"/"); err == nil {
		t.Error("reset mode: got an answer, want the connection reset")
	}
	b.SetReset(false)
	addr := b.Addr
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(t, c, b.URL()+"/"); err == nil {
		t.Error("stopped: got an answer, want connection refused")
	}
	if err := b.Start(); err != nil || b.Addr != addr {
		t.Fatalf("restart: got %v on %s, want %s", err, b.Addr, addr)
	}
	if code, body, err := get(t, c, b.URL()+"/"); code != 200 || body != "b1\n" {
		t.Errorf("restarted: got %d %q %v", code, body, err)
	}
}

func TestSlowHonoursTheClient(t *testing.T) {
	b := startBackend(t, "b1")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.URL()+"/slow?for=1h", nil)
	start := time.Now()
	if _, err := client(t).Do(req); err == nil {
		t.Fatal("got an answer from /slow?for=1h")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("client gave up after %v", d)
	}
}
