package main

import (
	"errors"
	"fmt"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/kernel"

	"golang.org/x/sys/unix"
)

// mss is the segment size both ends use: Ethernet's, so that loopback's
// 64 KiB segments do not hide how the window closes.
const mss = 1460

// pair is a connected sender and reader on raw descriptors.
type pair struct {
	send, recv     int // descriptors
	sndbuf, rcvbuf int // as getsockopt reports them (the kernel doubles what was asked)
}

// connect makes a pair over loopback. The reader's SO_RCVBUF is set on the
// listener before the handshake, so the window scale it announces in its
// SYN-ACK fits; 0 leaves the kernel's autotuning.
func connect(sndbuf, rcvbuf int) (*pair, error) {
	ln, err := rawnet.Listen("127.0.0.1:0", rawnet.ListenConfig{Backlog: 1})
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	if rcvbuf > 0 {
		err = unix.SetsockoptInt(ln.FD(), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
	}
	if err == nil {
		err = unix.SetsockoptInt(ln.FD(), unix.IPPROTO_TCP, unix.TCP_MAXSEG, mss)
	}
	if err != nil {
		return nil, err
	}
	p := &pair{send: -1, recv: -1}
	p.send, err = rawnet.Connect(ln.Addr().String(),
		rawnet.DialConfig{SndBuf: sndbuf, MSS: mss})
	if err == nil {
		err = rawnet.WaitConnected(p.send, 5*time.Second)
	}
	if err == nil {
		err = rawnet.WaitFD(ln.FD(), unix.POLLIN, 5*time.Second)
	}
	if err == nil {
		p.recv, _, err = unix.Accept4(ln.FD(), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	}
	if err == nil {
		p.sndbuf, err = unix.GetsockoptInt(p.send, unix.SOL_SOCKET, unix.SO_SNDBUF)
	}
	if err == nil {
		p.rcvbuf, err = unix.GetsockoptInt(p.recv, unix.SOL_SOCKET, unix.SO_RCVBUF)
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *pair) Close() {
	for _, fd := range []int{p.send, p.recv} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// sample is the kernel's view of the pair at one moment.
type sample struct {
	At      time.Duration
	Written int // bytes the sender's writes took so far
	InQ     int // reader's receive queue (SIOCINQ): arrived, not read
	OutQ    int // sender's send queue (SIOCOUTQ): written, not acked
	SndWnd  uint32
	Probes  uint8 // zero-window probes sent and unanswered
}

func (p *pair) sample(start time.Time, written int) (sample, error) {
	s := sample{At: time.Since(start), Written: written}
	var err error
	if s.InQ, err = kernel.InQueue(p.recv); err != nil {
		return s, err
	}
	if s.OutQ, err = kernel.OutQueue(p.send); err != nil {
		return s, err
	}
	ti, err := kernel.TCPInfo(p.send)
	if err != nil {
		return s, err
	}
	s.SndWnd, s.Probes = ti.Snd_wnd, ti.Probes
	return s, nil
}

func (s sample) String() string {
	return fmt.Sprintf("written %7d  receive queue %7d  send queue %7d  window %6d",
		s.Written, s.InQ, s.OutQ, s.SndWnd)
}

// fill writes chunks without blocking until the kernel refuses (EAGAIN),
// and keeps trying until nothing moves: every byte written is either in
// the reader's receive queue or in the sender's send queue (the delayed
// ACKs have arrived) and stays there for a while. It returns the samples
// that changed.
func (p *pair) fill(chunk int) ([]sample, error) {
	buf := make([]byte, chunk)
	start := time.Now()
	written, still := 0, 0
	var out []sample
	var last sample
	for {
		n, err := unix.Write(p.send, buf)
		switch {
		case err == nil:
			written += n
		case errors.Is(err, unix.EAGAIN):
		default:
			return out, fmt.Errorf("write: %w", err)
		}
		s, serr := p.sample(start, written)
		if serr != nil {
			return out, serr
		}
		moved := s.Written != last.Written || s.InQ != last.InQ || s.OutQ != last.OutQ
		if moved {
			out = append(out, s)
		}
		last = s
		if err == nil {
			continue
		}
		if !moved && s.InQ+s.OutQ == s.Written {
			still++
		} else {
			still = 0
		}
		if still == 25 {
			return out, nil // refused, accounted for, and still: full
		}
		if s.At > 5*time.Second {
			return out, errors.New("the queues never settled")
		}
		time.Sleep(2 * time.Millisecond) // the next look
	}
}

// drain reads everything the reader's kernel holds.
func (p *pair) drain() (int, error) {
	buf := make([]byte, 64<<10)
	total := 0
	for {
		n, err := unix.Read(p.recv, buf)
		if errors.Is(err, unix.EAGAIN) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		total += n
	}
}
