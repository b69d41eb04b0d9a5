package crowd

import (
	"net"
	"testing"
)

func TestStartActors(t *testing.T) {
	s, addrs := StartActors(t, Build(t, "./testdata/actors"), []string{"front", "back"})
	if s.Addr != addrs["front"] || addrs["back"] == "" || addrs["back"] == addrs["front"] {
		t.Fatalf("got Addr %s and %v, want front's and back's addresses", s.Addr, addrs)
	}
	for name, a := range addrs {
		c, err := net.Dial("tcp", a)
		if err != nil {
			t.Errorf("%s at %s: %v", name, a, err)
			continue
		}
		c.Close()
	}
	if s.Pid() <= 0 {
		t.Errorf("got pid %d", s.Pid())
	}
}
