package netem

import (
	"encoding/binary"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"backend-protocols/internal/netns"
	"golang.org/x/sys/unix"
)

// packetConn is an AF_PACKET socket bound to one interface (packet(7)): it
// reads the Ethernet frames that arrive on the interface and sends frames
// out of it, whole, headers included. It sits in Go's poller, so Close
// wakes a blocked read.
type packetConn struct {
	f      *os.File
	rc     syscall.RawConn
	closed atomic.Bool
}

// ethHeader is the length of an Ethernet header (no VLAN tag).
const ethHeader = 14

func openPacket(ns *netns.NS, dev string) (*packetConn, error) {
	f, rc, err := ns.PacketSocket(dev, func(fd int) error {
		// Our own sends show up as PACKET_OUTGOING copies; the option
		// (Linux 4.20) drops them in the kernel, read skips them too.
		unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
		// The kernel stamps each frame on arrival, so a reader woken late
		// still delays the frame from the moment it arrived.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return err
		}
		// Best effort: the kernel caps it at net.core.rmem_max.
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &packetConn{f: f, rc: rc}, nil
}

// read returns the next frame that arrived on the interface and when the
// kernel received it.
func (p *packetConn) read(buf, oob []byte) (n int, at time.Time, err error) {
	var rerr error
	err = p.rc.Read(func(fd uintptr) bool {
		for {
			var oobn int
			var from unix.Sockaddr
			n, oobn, _, from, rerr = unix.Recvmsg(int(fd), buf, oob, 0)
			if rerr == unix.EAGAIN {
				return false // wait until the socket is readable
			}
			if rerr != nil {
				return true
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok &&
				ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			at = stamp(oob[:oobn])
			return true
		}
	})
	if err == nil {
		err = rerr
	}
	if err != nil && p.closed.Load() {
		// A raw read on a closed file fails with an internal error of
		// package poll; say it plainly.
		err = net.ErrClosed
	}
	return n, at, err
}

// stamp finds the SO_TIMESTAMPNS time in a control message, or returns
// the time now.
func stamp(oob []byte) time.Time {
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET &&
			m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= 16 {
			// struct timespec: 64-bit seconds and nanoseconds.
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
			return time.Unix(sec, nsec)
		}
	}
	return time.Now()
}

// write sends one whole frame out of the interface.
func (p *packetConn) write(frame []byte) error {
	var werr error
	err := p.rc.Write(func(fd uintptr) bool {
		_, werr = unix.Write(int(fd), frame)
		return werr != unix.EAGAIN
	})
	if err == nil {
		err = werr
	}
	return err
}

func (p *packetConn) close() error {
	p.closed.Store(true)
	return p.f.Close()
}
