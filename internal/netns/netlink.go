package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file speaks just enough rtnetlink (see rtnetlink(7)) to build a
// small network: a veth pair, addresses, routes and neighbour entries. Each
// request is sent on a netlink socket made inside the namespace it changes.

// vethInfoPeer is VETH_INFO_PEER from linux/veth.h (x/sys lacks it).
const vethInfoPeer = 1

// ifOperUp is IF_OPER_UP from linux/if.h, an IFLA_OPERSTATE value.
const ifOperUp = 6

// Veth makes a veth pair, a virtual cable, with one end named aDev in a
// and the other named bDev in b, brings both ends up, and returns once
// they carry packets. mtu 0 keeps the kernel's default of 1500.
func Veth(a *NS, aDev string, b *NS, bDev string, mtu int) error {
	afd, bfd, release, err := twoFDs(a, b)
	if err != nil {
		return err
	}
	defer release()
	// Until the kernel's link watcher has seen the carrier come up, a
	// new interface drops what it is asked to send. The watcher acts at
	// once only for a veth end whose index differs from its peer's, and
	// otherwise at most once a second; fresh namespaces number their
	// interfaces alike, so choose different indexes here.
	ai, err := a.maxIndex()
	if err != nil {
		return err
	}
	bi, err := b.maxIndex()
	if err != nil {
		return err
	}
	ai++
	bi = max(bi, ai) + 1
	m := newMsg(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL,
		ifInfo(int32(ai)))
	m.str(unix.IFLA_IFNAME, aDev)
	m.u32(unix.IFLA_NET_NS_FD, uint32(afd))
	if mtu > 0 {
		m.u32(unix.IFLA_MTU, uint32(mtu))
	}
	m.nest(unix.IFLA_LINKINFO, func() {
		m.str(unix.IFLA_INFO_KIND, "veth")
		m.nest(unix.IFLA_INFO_DATA, func() {
			m.nest(vethInfoPeer, func() {
				m.raw(ifInfo(int32(bi)))
				m.str(unix.IFLA_IFNAME, bDev)
				m.u32(unix.IFLA_NET_NS_FD, uint32(bfd))
				if mtu > 0 {
					m.u32(unix.IFLA_MTU, uint32(mtu))
				}
			})
		})
	})
	if err := a.Do(m.send); err != nil {
		return fmt.Errorf("netns: veth %s/%s - %s/%s: %w",
			a, aDev, b, bDev, err)
	}
	if err := a.Do(func() error { return setUp(aDev) }); err != nil {
		return fmt.Errorf("netns: %s/%s up: %w", a, aDev, err)
	}
	if err := b.Do(func() error { return setUp(bDev) }); err != nil {
		return fmt.Errorf("netns: %s/%s up: %w", b, bDev, err)
	}
	if err := a.waitRunning(aDev); err != nil {
		return err
	}
	return b.waitRunning(bDev)
}

// maxIndex returns the highest interface index in the namespace.
func (n *NS) maxIndex() (int, error) {
	var top int
	err := n.Do(func() error {
		ifs, err := net.Interfaces()
		for _, ifi := range ifs {
			top = max(top, ifi.Index)
		}
		return err
	})
	return top, err
}

// waitRunning waits until the kernel's link watcher has marked dev
// operationally up (IF_OPER_UP); it enables sending in the same step.
func (n *NS) waitRunning(dev string) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		var state byte
		err := n.Do(func() error {
			m := newMsg(unix.RTM_GETLINK, 0, ifInfo(0))
			m.str(unix.IFLA_IFNAME, dev)
			reply, err := m.request()
			if err != nil {
				return err
			}
			if v := attr(reply, unix.SizeofIfInfomsg, unix.IFLA_OPERSTATE); len(v) > 0 {
				state = v[0]
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("netns: %s/%s: %w", n, dev, err)
		}
		if state == ifOperUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netns: %s/%s: not up after 3s (state %d)",
				n, dev, state)
		}
		time.Sleep(time.Millisecond)
	}
}

// twoFDs duplicates the descriptors of a and b for one request.
func twoFDs(a, b *NS) (afd, bfd int, release func(), err error) {
	dup := func(n *NS) (int, error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.fd < 0 {
			return -1, fmt.Errorf("netns: %s: %w", n.name, net.ErrClosed)
		}
		return unix.FcntlInt(uintptr(n.fd), unix.F_DUPFD_CLOEXEC, 0)
	}
	if afd, err = dup(a); err != nil {
		return -1, -1, nil, err
	}
	if bfd, err = dup(b); err != nil {
		unix.Close(afd)
		return -1, -1, nil, err
	}
	return afd, bfd, func() { unix.Close(afd); unix.Close(bfd) }, nil
}

// setUp brings an interface of the calling thread's namespace up.
func setUp(dev string) error {
	info := ifInfo(0)
	binary.NativeEndian.PutUint32(info[8:], unix.IFF_UP)  // flags
	binary.NativeEndian.PutUint32(info[12:], unix.IFF_UP) // change mask
	m := newMsg(unix.RTM_NEWLINK, 0, info)
	m.str(unix.IFLA_IFNAME, dev)
	return m.send()
}

// Interface returns the namespace's interface dev: its index, MTU and
// hardware (MAC) address.
func (n *NS) Interface(dev string) (*net.Interface, error) {
	var ifi *net.Interface
	err := n.Do(func() (err error) {
		ifi, err = net.InterfaceByName(dev)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("netns: %s: %w", n, err)
	}
	return ifi, nil
}

// AddAddr gives interface dev the IPv4 address and subnet p, such as
// 10.0.0.1/24.
func (n *NS) AddAddr(dev string, p netip.Prefix) error {
	if !p.Addr().Is4() {
		return fmt.Errorf("netns: %s: address %v: only IPv4 is supported", n, p)
	}
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		hdr := make([]byte, unix.SizeofIfAddrmsg)
		hdr[0] = unix.AF_INET
		hdr[1] = byte(p.Bits())
		binary.NativeEndian.PutUint32(hdr[4:], uint32(ifi.Index))
		m := newMsg(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, hdr)
		ip := p.Addr().As4()
		m.attr(unix.IFA_LOCAL, ip[:])
		m.attr(unix.IFA_ADDRESS, ip[:])
		return m.send()
	})
	if err != nil {
		return fmt.Errorf("netns: %s: add %v to %s: %w", n, p, dev, err)
	}
	return nil
}

// AddRoute sends traffic for dst through the gateway via, which must be on
// a connected subnet. A dst of 0.0.0.0/0 is the default route.
func (n *NS) AddRoute(dst netip.Prefix, via netip.Addr) error {
	if !dst.Addr().Is4() || !via.Is4() {
		return fmt.Errorf("netns: %s: route %v via %v: only IPv4 is supported",
			n, dst, via)
	}
	hdr := make([]byte, unix.SizeofRtMsg)
	hdr[0] = unix.AF_INET
	hdr[1] = byte(dst.Bits())
	hdr[4] = unix.RT_TABLE_MAIN
	hdr[5] = unix.RTPROT_STATIC
	hdr[6] = unix.RT_SCOPE_UNIVERSE
	hdr[7] = unix.RTN_UNICAST
	m := newMsg(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, hdr)
	if dst.Bits() > 0 {
		d := dst.Masked().Addr().As4()
		m.attr(unix.RTA_DST, d[:])
	}
	gw := via.As4()
	m.attr(unix.RTA_GATEWAY, gw[:])
	if err := n.Do(m.send); err != nil {
		return fmt.Errorf("netns: %s: route %v via %v: %w", n, dst, via, err)
	}
	return nil
}

// AddNeighbor records that ip is at hardware address mac on dev, for good
// (NUD_PERMANENT), so the kernel never sends ARP for it. Links use it so
// that the first packet does not wait a round trip for ARP.
func (n *NS) AddNeighbor(dev string, ip netip.Addr, mac net.HardwareAddr) error {
	if !ip.Is4() {
		return fmt.Errorf("netns: %s: neighbour %v: only IPv4 is supported", n, ip)
	}
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		hdr := make([]byte, unix.SizeofNdMsg)
		hdr[0] = unix.AF_INET
		binary.NativeEndian.PutUint32(hdr[4:], uint32(ifi.Index))
		binary.NativeEndian.PutUint16(hdr[8:], unix.NUD_PERMANENT)
		m := newMsg(unix.RTM_NEWNEIGH, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, hdr)
		a := ip.As4()
		m.attr(unix.NDA_DST, a[:])
		m.attr(unix.NDA_LLADDR, mac)
		return m.send()
	})
	if err != nil {
		return fmt.Errorf("netns: %s: neighbour %v on %s: %w", n, ip, dev, err)
	}
	return nil
}

// DisableOffloads turns off checksum offload, scatter-gather and
// segmentation offloads (TSO, GSO) on dev, as `ethtool -K dev tx off sg
// off tso off gso off` would. Then every frame dev sends is a real,
// wire-sized packet with correct checksums, which is what a packet capture
// or a user-space forwarder needs to see. UDP sends with UDP_SEGMENT fail
// with EIO on such an interface, as on a NIC without checksum offload.
func (n *NS) DisableOffloads(dev string) error {
	err := n.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		for _, cmd := range []uint32{unix.ETHTOOL_STXCSUM, unix.ETHTOOL_SSG,
			unix.ETHTOOL_STSO, unix.ETHTOOL_SGSO} {
			if _, err := ethtool(fd, dev, cmd, 0); err != nil {
				return fmt.Errorf("ethtool command %#x: %w", cmd, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("netns: %s: offloads off on %s: %w", n, dev, err)
	}
	return nil
}

// ethtool issues one legacy SIOCETHTOOL command that carries a struct
// ethtool_value (linux/ethtool.h) and returns the value after the call.
func ethtool(fd int, dev string, cmd, value uint32) (uint32, error) {
	if len(dev) >= unix.IFNAMSIZ {
		return 0, errors.New("interface name too long")
	}
	v := struct{ cmd, data uint32 }{cmd, value}
	var req struct { // struct ifreq with ifr_data
		name [unix.IFNAMSIZ]byte
		data unsafe.Pointer
		_    [16]byte
	}
	copy(req.name[:], dev)
	req.data = unsafe.Pointer(&v)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd),
		unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&req)))
	if errno != 0 {
		return 0, errno
	}
	return v.data, nil
}

// msg is one rtnetlink request under construction.
type msg struct {
	b []byte
}

// newMsg starts a request of type typ with the family header hdr; the
// request always asks for an acknowledgement.
func newMsg(typ uint16, flags int, hdr []byte) *msg {
	m := &msg{b: make([]byte, unix.SizeofNlMsghdr, 256)}
	binary.NativeEndian.PutUint16(m.b[4:], typ)
	binary.NativeEndian.PutUint16(m.b[6:],
		uint16(flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK))
	binary.NativeEndian.PutUint32(m.b[8:], 1) // sequence number
	m.raw(hdr)
	return m
}

func ifInfo(index int32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	return b
}

// raw appends b padded to the netlink alignment of 4 bytes.
func (m *msg) raw(b []byte) {
	m.b = append(m.b, b...)
	for len(m.b)%4 != 0 {
		m.b = append(m.b, 0)
	}
}

// attr appends one attribute: length, type, value, padding.
func (m *msg) attr(typ uint16, v []byte) {
	var h [4]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(4+len(v)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	m.b = append(m.b, h[:]...)
	m.raw(v)
}

func (m *msg) str(typ uint16, s string) { m.attr(typ, append([]byte(s), 0)) }

func (m *msg) u32(typ uint16, v uint32) {
	m.attr(typ, binary.NativeEndian.AppendUint32(nil, v))
}

// nest appends an attribute whose value is the attributes fill appends.
func (m *msg) nest(typ uint16, fill func()) {
	start := len(m.b)
	m.attr(typ|unix.NLA_F_NESTED, nil)
	fill()
	binary.NativeEndian.PutUint16(m.b[start:], uint16(len(m.b)-start))
}

// send sends the request on a new netlink socket in the calling thread's
// namespace and returns the kernel's verdict.
func (m *msg) send() error {
	_, err := m.request()
	return err
}

// request sends the request and returns the payload of the kernel's
// answer: empty for an acknowledgement, a message for a query.
func (m *msg) request() ([]byte, error) {
	binary.NativeEndian.PutUint32(m.b[0:], uint32(len(m.b)))
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC,
		unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	kernel := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	if err := unix.Sendto(fd, m.b, 0, kernel); err != nil {
		return nil, err
	}
	buf := make([]byte, 32<<10)
	var answer []byte
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, err
		}
		for b := buf[:n]; len(b) >= unix.SizeofNlMsghdr; {
			l := int(binary.NativeEndian.Uint32(b[0:]))
			typ := binary.NativeEndian.Uint16(b[4:])
			if l < unix.SizeofNlMsghdr || l > len(b) {
				return nil, errors.New("malformed netlink reply")
			}
			body := b[unix.SizeofNlMsghdr:l]
			switch {
			case typ == unix.NLMSG_ERROR && len(body) >= 4:
				if code := int32(binary.NativeEndian.Uint32(body)); code != 0 {
					return nil, unix.Errno(-code)
				}
				return answer, nil
			case typ != unix.NLMSG_NOOP && typ != unix.NLMSG_DONE:
				answer = append([]byte(nil), body...)
			}
			b = b[min((l+3)&^3, len(b)):]
		}
	}
}

// attr finds attribute typ in a message body whose family header is skip
// bytes long.
func attr(body []byte, skip int, typ uint16) []byte {
	if len(body) < skip {
		return nil
	}
	for b := body[skip:]; len(b) >= 4; {
		l := int(binary.NativeEndian.Uint16(b[0:]))
		if l < 4 || l > len(b) {
			return nil
		}
		if binary.NativeEndian.Uint16(b[2:])&^unix.NLA_F_NESTED == typ {
			return b[4:l]
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	return nil
}

// DeleteLink deletes the interface dev; deleting one end of a veth pair
// deletes both.
func (n *NS) DeleteLink(dev string) error {
	m := newMsg(unix.RTM_DELLINK, 0, ifInfo(0))
	m.str(unix.IFLA_IFNAME, dev)
	if err := n.Do(m.send); err != nil {
		return fmt.Errorf("netns: %s: delete %s: %w", n, dev, err)
	}
	return nil
}
