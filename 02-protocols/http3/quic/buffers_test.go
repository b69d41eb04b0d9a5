package quic

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestRecvBufferReassembles(t *testing.T) {
	want := make([]byte, 5000)
	for i := range want {
		want[i] = byte(i * 7)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var r recvBuffer
	var got []byte
	// Deliver random overlapping chunks in random order until done.
	for len(got) < len(want) {
		off := rng.IntN(len(want))
		n := min(rng.IntN(300)+1, len(want)-off)
		r.write(uint64(off), want[off:off+n])
		p := make([]byte, rng.IntN(400)+1)
		got = append(got, p[:r.read(p)]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("reassembled bytes differ")
	}
	if r.buffered() != 0 {
		t.Errorf("got %d bytes buffered after reading all", r.buffered())
	}
}

func TestSendBufferRetransmitsOnlyLostRanges(t *testing.T) {
	var s sendBuffer
	s.write(bytes.Repeat([]byte{'a'}, 100))
	off1, n1, _ := s.nextRange(40, 1000)
	off2, n2, _ := s.nextRange(40, 1000)
	off3, n3, _ := s.nextRange(40, 1000)
	if off1 != 0 || n1 != 40 || off2 != 40 || off3 != 80 || n3 != 20 {
		t.Fatalf("got ranges %d+%d %d+%d %d+%d", off1, n1, off2, n2, off3, n3)
	}
	s.ack(0, 40)
	s.ack(80, 100)
	s.loss(40, 80)
	s.loss(0, 40) // already acknowledged: nothing to resend
	off, n, retx := s.nextRange(1000, 1000)
	if off != 40 || n != 40 || !retx {
		t.Errorf("got retransmission %d+%d retx=%v, want 40+40", off, n, retx)
	}
	if s.pending() {
		t.Errorf("still pending after resending the lost range")
	}
	s.ack(40, 80)
	if s.unacked() != 0 || s.base != 100 {
		t.Errorf("got %d unacked, base %d; want 0, 100", s.unacked(), s.base)
	}
}

func TestRangeSet(t *testing.T) {
	var s rangeSet
	s.add(10, 20)
	s.add(30, 40)
	s.add(0, 5)
	s.add(20, 30) // joins the two
	want := rangeSet{{0, 5}, {10, 40}}
	if len(s) != len(want) || s[0] != want[0] || s[1] != want[1] {
		t.Fatalf("got %v, want %v", s, want)
	}
	s.sub(12, 15)
	if !s.contains(11) || s.contains(12) || !s.contains(15) {
		t.Errorf("sub: got %v", s)
	}
	s.removeBelow(13)
	if v, _ := s.min(); v != 15 {
		t.Errorf("removeBelow: got min %d, want 15", v)
	}
}
