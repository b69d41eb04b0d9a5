package lab

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"testing"
	"time"

	"backend-protocols/internal/netns"
)

func TestMain(m *testing.M) {
	netns.Reexec()
	os.Exit(m.Run())
}

// TestUDPEcho sends a datagram from the client host to the server's and
// back, on the emulated path (if namespaces work) and on loopback: both
// must carry it and take at least the round trip.
func TestUDPEcho(t *testing.T) {
	const rtt = 20 * time.Millisecond
	for _, loopback := range []bool{false, true} {
		if !loopback && netns.Available() != nil {
			continue
		}
		l, err := New(Config{RTT: rtt, Loopback: loopback})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		srv, addr, err := l.ListenUDP()
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		cli, err := l.ClientUDP()
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		go func() {
			b := make([]byte, 100)
			if n, from, err := srv.ReadFrom(b); err == nil {
				srv.WriteTo(b[:n], from)
			}
		}()
		to, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		cli.WriteTo([]byte("ping"), to)
		cli.SetReadDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 100)
		n, _, err := cli.ReadFrom(b)
		if err != nil || string(b[:n]) != "ping" {
			t.Fatalf("loopback %v: got %q, %v; want the echo", loopback, b[:n], err)
		}
		if d := time.Since(start); d < rtt {
			t.Errorf("loopback %v: echo in %v, faster than the %v round trip", loopback, d, rtt)
		}
	}
}

// TestPcapHeader writes a capture and checks the file's framing: the
// classic header with LINKTYPE_RAW, then each packet with its length.
func TestPcapHeader(t *testing.T) {
	if err := netns.Available(); err != nil {
		t.Skip(err)
	}
	l, err := New(Config{RTT: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.cap.tap(true, []byte{0x45, 0, 0, 20}, false)
	var buf bytes.Buffer
	if err := l.WritePcap(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(b) != 24+16+4 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 ||
		binary.LittleEndian.Uint32(b[20:]) != linkTypeRaw ||
		binary.LittleEndian.Uint32(b[24+8:]) != 4 {
		t.Errorf("got pcap %x", b)
	}
}
