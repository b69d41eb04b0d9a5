package browser

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestLoadsPageAndRunsScript(t *testing.T) {
	if _, err := Path(); err != nil {
		t.Skip(err)
	}
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Write([]byte(`<script>fetch("/done?ua=" + (navigator.userAgent.includes("Chrome")))</script>`))
		case "/done":
			select {
			case got <- r.URL.Query().Get("ua"):
			default:
			}
		}
	}))
	defer srv.Close()
	b, err := Start(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	select {
	case ua := <-got:
		if ua != "true" {
			t.Errorf("got user agent check %q, want true", ua)
		}
	case <-b.Exited():
		t.Fatalf("browser exited early:\n%s", b.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("page never reported:\n%s", b.Log())
	}
	b.Close()
	select {
	case <-b.Exited():
	default:
		t.Error("browser still running after Close")
	}
}
