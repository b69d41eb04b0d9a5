package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"backend-protocols/04-execution/rawnet"

	"golang.org/x/sys/unix"
)

// tun is a TUN device: what the kernel routes to it, this program reads
// as IP packets, and what this program writes, the kernel receives as if
// it came from the network. It lets the demo play a client whose kernel
// never answers a SYN-ACK. Only root can open /dev/net/tun.
type tun struct {
	fd   int
	name string
}

// openTun creates device name in the calling thread's network namespace,
// gives it addr/24 and brings it up, so the kernel routes the /24 to it.
func openTun(name string, addr netip.Addr) (*tun, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	t := &tun{fd: fd, name: name}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err == nil {
		err = configure(name, addr)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun %s: %w", name, err)
	}
	return t, nil
}

// configure does "ip addr add addr/24 dev name; ip link set name up" with
// the classic ioctls.
func configure(name string, addr netip.Addr) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	a := addr.As4()
	for _, step := range []struct {
		req uint
		set func(*unix.Ifreq) error
	}{
		{unix.SIOCSIFADDR, func(r *unix.Ifreq) error { return r.SetInet4Addr(a[:]) }},
		{unix.SIOCSIFNETMASK, func(r *unix.Ifreq) error {
			return r.SetInet4Addr([]byte{255, 255, 255, 0})
		}},
		{unix.SIOCSIFFLAGS, func(r *unix.Ifreq) error {
			r.SetUint16(unix.IFF_UP)
			return nil
		}},
	} {
		r, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		if err := step.set(r); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(s, step.req, r); err != nil {
			return err
		}
	}
	return nil
}

func (t *tun) Close() error { return unix.Close(t.fd) }

// send writes one segment as an IP packet.
func (t *tun) send(s segment) error {
	_, err := unix.Write(t.fd, s.marshal())
	return err
}

// recv reads the next TCP segment the kernel sends out of the device,
// skipping anything else; it returns false after wait with nothing.
func (t *tun) recv(wait time.Duration) (segment, bool, error) {
	buf := make([]byte, 2048)
	deadline := time.Now().Add(wait)
	for {
		n, err := unix.Read(t.fd, buf)
		if err == unix.EAGAIN {
			left := time.Until(deadline)
			if left <= 0 {
				return segment{}, false, nil
			}
			if err := rawnet.WaitFD(t.fd, unix.POLLIN, left); err == rawnet.ErrTimeout {
				return segment{}, false, nil
			} else if err != nil {
				return segment{}, false, err
			}
			continue
		}
		if err != nil {
			return segment{}, false, err
		}
		if s, ok := parseSegment(buf[:n]); ok {
			return s, true, nil
		}
	}
}

// TCP flags (RFC 9293 section 3.1).
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagACK = 0x10
)

// segment is the part of an IPv4 TCP segment this demo needs.
type segment struct {
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    uint8
}

// marshal builds an IPv4 packet (RFC 791) carrying a TCP header (RFC
// 9293 section 3.1) with no data; a SYN carries an MSS option.
func (s segment) marshal() []byte {
	opts := []byte{}
	if s.Flags&flagSYN != 0 {
		opts = []byte{2, 4, 0x05, 0xb4} // MSS 1460
	}
	tcpLen := 20 + len(opts)
	b := make([]byte, 20+tcpLen)
	ip, tcp := b[:20], b[20:]
	ip[0] = 0x45 // version 4, header length 5 words
	binary.BigEndian.PutUint16(ip[2:], uint16(len(b)))
	ip[8] = 64 // TTL
	ip[9] = unix.IPPROTO_TCP
	src, dst := s.Src.Addr().As4(), s.Dst.Addr().As4()
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[10:], checksum(0, ip))

	binary.BigEndian.PutUint16(tcp[0:], s.Src.Port())
	binary.BigEndian.PutUint16(tcp[2:], s.Dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], s.Seq)
	binary.BigEndian.PutUint32(tcp[8:], s.Ack)
	tcp[12] = byte(tcpLen/4) << 4
	tcp[13] = s.Flags
	binary.BigEndian.PutUint16(tcp[14:], 65535) // window
	copy(tcp[20:], opts)
	// The checksum covers a pseudo-header of addresses, protocol, length.
	var pseudo [12]byte
	copy(pseudo[0:], src[:])
	copy(pseudo[4:], dst[:])
	pseudo[9] = unix.IPPROTO_TCP
	binary.BigEndian.PutUint16(pseudo[10:], uint16(tcpLen))
	binary.BigEndian.PutUint16(tcp[16:], checksum(sum(0, pseudo[:]), tcp))
	return b
}

// parseSegment reads an IPv4 packet carrying TCP.
func parseSegment(b []byte) (segment, bool) {
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != unix.IPPROTO_TCP {
		return segment{}, false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl+20 {
		return segment{}, false
	}
	tcp := b[ihl:]
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	return segment{
		Src:   netip.AddrPortFrom(src, binary.BigEndian.Uint16(tcp[0:])),
		Dst:   netip.AddrPortFrom(dst, binary.BigEndian.Uint16(tcp[2:])),
		Seq:   binary.BigEndian.Uint32(tcp[4:]),
		Ack:   binary.BigEndian.Uint32(tcp[8:]),
		Flags: tcp[13],
	}, true
}

// sum adds b to an Internet checksum accumulator (RFC 1071).
func sum(acc uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		acc += uint32(b[len(b)-1]) << 8
	}
	return acc
}

func checksum(acc uint32, b []byte) uint16 {
	acc = sum(acc, b)
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return ^uint16(acc)
}
