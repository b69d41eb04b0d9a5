package peer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestOpenLoadsPage serves a page whose script calls back, so the test
// knows the browser ran it.
func TestOpenLoadsPage(t *testing.T) {
	if ChromiumPath() == "" {
		t.Skip("chromium not installed")
	}
	called := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ran" {
			called <- r.URL.RawQuery
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<script>fetch("/ran?ua=" + (navigator.userAgent.includes("Chrome") ? "chrome" : "other"))</script>`))
	}))
	defer srv.Close()
	b, err := OpenBrowser(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	select {
	case q := <-called:
		if q != "ua=chrome" {
			t.Errorf("got %q, want ua=chrome", q)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the page's script never ran")
	}
	if err := b.Close(); err != nil {
		t.Error(err)
	}
}

func TestPython(t *testing.T) {
	if p := Python("sys"); p == "" {
		t.Skip("no python3")
	}
	if p := Python("no_such_module_here"); p != "" {
		t.Errorf("got %s for a module that does not exist, want \"\"", p)
	}
}
