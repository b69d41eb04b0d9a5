package demo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
)

func TestBackground(t *testing.T) {
	addr, stop, err := Background(func(ctx context.Context, ready func(string)) error {
		ln, err := Listen("127.0.0.1:0")
		if err != nil {
			return err
		}
		ready(ln.Addr().String())
		return ServeHTTP(ctx, &http.Server{Handler: http.HandlerFunc(
			func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "up") })}, ln)
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "up" {
		t.Errorf("got %q, want up", body)
	}
	if err := stop(); err != nil {
		t.Errorf("stop: got %v, want a clean shutdown", err)
	}

	boom := errors.New("boom")
	_, _, err = Background(func(context.Context, func(string)) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want the serve error", err)
	}
}
