package kernel

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseTCPLine(t *testing.T) {
	cases := []struct {
		line     string
		local    string
		state    TCPState
		txq, rxq int
	}{
		{"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 1510 1 0 100 0 0 10 0",
			"127.0.0.1:8080", StateListen, 0, 3},
		{"   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 01 0000002A:00000000 00:00000000 00000000     0        0 77 1",
			"[::1]:80", StateEstablished, 42, 0},
	}
	for _, c := range cases {
		s, err := parseTCPLine(c.line)
		if err != nil {
			t.Fatal(err)
		}
		if s.Local != netip.MustParseAddrPort(c.local) || s.State != c.state ||
			s.TxQueue != c.txq || s.RxQueue != c.rxq {
			t.Errorf("got %v %v tx=%d rx=%d, want %s %v tx=%d rx=%d",
				s.Local, s.State, s.TxQueue, s.RxQueue, c.local, c.state, c.txq, c.rxq)
		}
	}
	if _, err := parseTCPLine("  0: zz"); err == nil {
		t.Error("short line: got no error")
	}
}

func TestNetstat(t *testing.T) {
	m, err := Netstat()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"TcpExt:ListenOverflows", "TcpExt:ListenDrops",
		"Tcp:ActiveOpens", "Tcp:RetransSegs"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %s in /proc/net/netstat or snmp", k)
		}
	}
	if m["Tcp:ActiveOpens"] == 0 {
		t.Errorf("got Tcp:ActiveOpens 0; this test process alone opened some")
	}
}

func TestGetUsage(t *testing.T) {
	u, err := GetUsage(unix.RUSAGE_SELF)
	if err != nil || u.CPU() <= 0 || u.MaxRSS < 1<<20 {
		t.Errorf("got %+v, %v", u, err)
	}
}
