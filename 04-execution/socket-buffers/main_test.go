package main

import (
	"context"
	"testing"
	"time"

	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"
)

func TestBuffersFillAndDrain(t *testing.T) {
	before, _ := kernel.FDBaseline()
	cfg := config{Buf: 64 << 10, Chunk: 16 << 10, Hold: 100 * time.Millisecond,
		Sizes: []int{8 << 10, 64 << 10, 512 << 10}}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := res.Full
	if f.InQ+f.OutQ != f.Written {
		t.Errorf("got %d written, %d in the receive queue + %d in the send queue; want them to add up",
			f.Written, f.InQ, f.OutQ)
	}
	if f.InQ == 0 || f.InQ > res.RcvBuf || f.OutQ == 0 {
		t.Errorf("got receive queue %d (SO_RCVBUF %d), send queue %d; want both filled",
			f.InQ, res.RcvBuf, f.OutQ)
	}
	if f.SndWnd != 0 {
		t.Errorf("got the sender's window %d when full, want 0", f.SndWnd)
	}
	if res.ZeroWindow < 1 {
		t.Errorf("got TcpExt:TCPToZeroWindowAdv +%d, want at least 1", res.ZeroWindow)
	}
	if res.Blocked < cfg.Hold*8/10 {
		t.Errorf("the blocking write returned after %v, want it held while the reader held off (%v)",
			res.Blocked, cfg.Hold)
	}
	if res.After.InQ != 0 || res.After.OutQ != 0 || res.Drained != f.Written+cfg.Chunk {
		t.Errorf("after draining: got queues %d and %d, %d bytes read; want 0, 0, %d",
			res.After.InQ, res.After.OutQ, res.Drained, f.Written+cfg.Chunk)
	}
	for i := 1; i < len(res.Sizes); i++ {
		a, b := res.Sizes[i-1], res.Sizes[i]
		if b.Full.Written <= a.Full.Written {
			t.Errorf("buffers %d: %d bytes written before full; buffers %d: %d; want more with more",
				a.Asked, a.Full.Written, b.Asked, b.Full.Written)
		}
	}
	if after, _ := kernel.OpenFDs(); after != before {
		t.Errorf("got %d descriptors open after, want %d", after, before)
	}
}
