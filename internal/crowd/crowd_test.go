package crowd

import (
	"testing"
	"time"
)

func TestHoldAndMeasure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a child process")
	}
	srv := Start(t, Build(t, "./testdata/server"))
	rss, err := srv.RSS()
	if err != nil || rss <= 0 {
		t.Fatalf("got RSS %d, %v", rss, err)
	}
	_, release := Hold(t, srv.Addr, 50, nil)
	// The stats request itself is one more open connection.
	err = Until(10*time.Second, func() (bool, error) {
		v, err := Stat(srv.Addr, "/", "open")
		return v >= 50, err
	})
	if err != nil {
		t.Fatal(err)
	}
	release()
	err = Until(10*time.Second, func() (bool, error) {
		v, err := Stat(srv.Addr, "/", "open")
		return v <= 1, err
	})
	if err != nil {
		t.Errorf("connections still open after release: %v", err)
	}
	if _, err := Stat(srv.Addr, "/", "missing"); err == nil {
		t.Error("Stat of a missing field: got nil error")
	}
}
