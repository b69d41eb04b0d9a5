package main

import (
	"context"
	"fmt"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"

	"golang.org/x/sys/unix"
)

type result struct {
	SndBuf, RcvBuf int
	Full           sample        // when nothing moved any more
	ZeroWindow     int64         // TcpExt:TCPToZeroWindowAdv rise
	Blocked        time.Duration // the blocking write, until the reader drained
	Drained        int           // bytes the reader read
	After          sample        // once drained
	Sizes          []sizeRun     // the table
}

// sizeRun is one buffer size's fill.
type sizeRun struct {
	Asked, SndBuf, RcvBuf int
	Full                  sample
}

// run is the scenario as the demo harness calls it.
func (cfg *config) run(ctx context.Context, tl *timeline.Timeline) error {
	_, err := scenario(ctx, tl, *cfg)
	return err
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	p, err := connect(cfg.Buf, cfg.Buf)
	if err != nil {
		return res, err
	}
	defer p.Close()
	res.SndBuf, res.RcvBuf = p.sndbuf, p.rcvbuf
	tl.Note("sender", "fd %d: SO_SNDBUF %d asked, the kernel keeps %d", p.send, cfg.Buf, p.sndbuf)
	tl.Note("reader", "fd %d: SO_RCVBUF %d asked, the kernel keeps %d; it will not read",
		p.recv, cfg.Buf, p.rcvbuf)
	before, err := kernel.Netstat()
	if err != nil {
		return res, err
	}
	samples, err := p.fill(cfg.Chunk)
	if err != nil {
		return res, err
	}
	tl.Note("sender", "writes %d bytes at a time, never blocking:", cfg.Chunk)
	every := max(len(samples)/12, 1)
	for i, s := range samples {
		if i%every == 0 || i == len(samples)-1 {
			tl.Printf("%10s  %s", timeline.Stamp(s.At), s)
		}
	}
	res.Full = samples[len(samples)-1]
	after, err := kernel.Netstat()
	if err != nil {
		return res, err
	}
	res.ZeroWindow = after["TcpExt:TCPToZeroWindowAdv"] - before["TcpExt:TCPToZeroWindowAdv"]
	tl.Note("sender", "write(%d) = EAGAIN: the send buffer is full, the window is %d",
		p.send, res.Full.SndWnd)

	// A blocking write now sleeps in the kernel until the reader reads.
	if err := unix.SetNonblock(p.send, false); err != nil {
		return res, err
	}
	done := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		unix.Write(p.send, make([]byte, cfg.Chunk))
		done <- time.Since(start)
	}()
	tl.Note("sender", "a blocking write(%d, %d bytes) sleeps...", p.send, cfg.Chunk)
	select {
	case d := <-done:
		return res, fmt.Errorf("the blocking write returned after %v with the reader not reading", d)
	case <-time.After(cfg.Hold):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	tl.Note("reader", "starts reading")
	total := 0
	for total < res.Full.Written+cfg.Chunk {
		n, err := p.drain()
		if err != nil {
			return res, err
		}
		total += n
		if n == 0 {
			if err := rawnet.WaitFD(p.recv, unix.POLLIN, 5*time.Second); err != nil {
				return res, fmt.Errorf("after %d bytes: %w", total, err)
			}
		}
	}
	res.Drained = total
	res.Blocked = <-done
	tl.Note("sender", "the blocking write returned after %s", timeline.Ms(res.Blocked))
	if res.After, err = p.sample(start, res.Full.Written+cfg.Chunk); err != nil {
		return res, err
	}
	tl.Note("kernel", "%s", res.After)

	for _, size := range cfg.Sizes {
		r, err := fillOnce(size, cfg.Chunk)
		if err != nil {
			return res, err
		}
		res.Sizes = append(res.Sizes, r)
	}
	report(tl, res)
	return res, nil
}

// fillOnce fills a fresh pair with both buffers set to size.
func fillOnce(size, chunk int) (sizeRun, error) {
	p, err := connect(size, size)
	if err != nil {
		return sizeRun{}, err
	}
	defer p.Close()
	s, err := p.fill(chunk)
	if err != nil {
		return sizeRun{}, err
	}
	r := sizeRun{Asked: size, Full: s[len(s)-1]}
	// Read the sizes after the fill: autotuning grows them as it goes.
	if r.SndBuf, err = unix.GetsockoptInt(p.send, unix.SOL_SOCKET, unix.SO_SNDBUF); err != nil {
		return r, err
	}
	r.RcvBuf, err = unix.GetsockoptInt(p.recv, unix.SOL_SOCKET, unix.SO_RCVBUF)
	return r, err
}

func report(tl *timeline.Timeline, res result) {
	tl.Printf("")
	tl.Printf("full: %d bytes written = %d in the reader's receive queue + %d in the sender's send queue;",
		res.Full.Written, res.Full.InQ, res.Full.OutQ)
	tl.Printf("the reader's kernel advertised a zero window (TcpExt:TCPToZeroWindowAdv +%d).",
		res.ZeroWindow)
	tl.Printf("a blocking write waited %s, until the reader read %d bytes; both queues are now %d and %d.",
		timeline.Ms(res.Blocked), res.Drained, res.After.InQ, res.After.OutQ)
	tl.Printf("")
	tl.Printf("%-10s %10s %10s %14s %14s %14s", "asked", "SO_SNDBUF", "SO_RCVBUF",
		"written", "receive queue", "send queue")
	for _, r := range res.Sizes {
		asked := fmt.Sprint(r.Asked)
		if r.Asked == 0 {
			asked = "autotuned"
		}
		tl.Printf("%-10s %10d %10d %14d %14d %14d", asked, r.SndBuf, r.RcvBuf,
			r.Full.Written, r.Full.InQ, r.Full.OutQ)
	}
}
