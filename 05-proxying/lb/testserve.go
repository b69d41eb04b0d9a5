package lb

import (
	"context"
	"net"
	"testing"

	"backend-protocols/internal/demo"
)

// ServeForTest runs a demo's serve function on a fresh loopback listener
// (with demo.Background) until the test ends, and returns the address.
// The test fails if serve does not return nil once it is stopped.
func ServeForTest(t testing.TB, serve func(ctx context.Context, ln net.Listener) error) string {
	t.Helper()
	addr, stop, err := demo.Background(func(ctx context.Context, ready func(string)) error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ready(ln.Addr().String())
		return serve(ctx, ln)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return addr
}
