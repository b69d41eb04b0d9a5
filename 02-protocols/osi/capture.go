package main

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"backend-protocols/internal/netns"
)

// captured is one frame a packet socket read off an interface.
type captured struct {
	Frame []byte
	// Outgoing marks a frame this host sent (sll_pkttype
	// PACKET_OUTGOING); the others arrived from the cable.
	Outgoing bool
	// CsumNotReady is the kernel saying the checksum was left for the
	// network card to fill in (TP_STATUS_CSUMNOTREADY in PACKET_AUXDATA),
	// so the captured field is not what the wire carries.
	CsumNotReady bool
}

// maxFrames bounds what a capture keeps.
const maxFrames = 256

// capture reads every frame on one interface with an AF_PACKET socket
// (packet(7)): what tcpdump does, without the filter language.
type capture struct {
	f      *os.File
	rc     syscall.RawConn
	done   chan struct{}
	closed atomic.Bool

	mu     sync.Mutex
	frames []captured
	err    error
}

// startCapture opens a packet socket on dev inside ns and reads from it
// until stop. It needs CAP_NET_RAW in the namespace.
func startCapture(ns *netns.NS, dev string) (*capture, error) {
	f, rc, err := ns.PacketSocket(dev, func(fd int) error {
		return unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1)
	})
	if err != nil {
		return nil, err
	}
	c := &capture{f: f, rc: rc, done: make(chan struct{})}
	go c.loop()
	return c, nil
}

func (c *capture) loop() {
	defer close(c.done)
	buf := make([]byte, 65536)
	oob := make([]byte, 256)
	for {
		var n, oobn int
		var from unix.Sockaddr
		var rerr error
		err := c.rc.Read(func(fd uintptr) bool {
			n, oobn, _, from, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_TRUNC)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			c.mu.Lock()
			// A raw read on a file closed by Stop fails with package
			// poll's internal error; that is the normal end.
			if !c.closed.Load() {
				c.err = err
			}
			c.mu.Unlock()
			return
		}
		fr := captured{Frame: append([]byte(nil), buf[:min(n, len(buf))]...)}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			fr.Outgoing = ll.Pkttype == unix.PACKET_OUTGOING
		}
		fr.CsumNotReady = auxStatus(oob[:oobn])&unix.TP_STATUS_CSUMNOTREADY != 0
		c.mu.Lock()
		if len(c.frames) < maxFrames {
			c.frames = append(c.frames, fr)
		}
		c.mu.Unlock()
	}
}

// auxStatus returns tp_status from a PACKET_AUXDATA control message.
func auxStatus(oob []byte) uint32 {
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_PACKET && m.Header.Type == unix.PACKET_AUXDATA &&
			len(m.Data) >= 4 {
			return binary.NativeEndian.Uint32(m.Data) // struct tpacket_auxdata
		}
	}
	return 0
}

// Frames returns what was captured so far.
func (c *capture) Frames() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.frames...)
}

// waitFor polls the capture until found reports true of its frames or
// the timeout passes.
func (c *capture) waitFor(timeout time.Duration, found func([]captured) bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if found(c.Frames()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Stop closes the socket and waits for the reader; it returns the read
// error that ended the capture early, if any.
func (c *capture) Stop() error {
	c.closed.Store(true)
	c.f.Close()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
