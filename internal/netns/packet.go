package netns

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// PacketSocket opens an AF_PACKET socket (packet(7)) bound to dev inside
// the namespace: it sees every Ethernet frame on that interface, headers
// included, and can send whole frames out of it. setup, if not nil, sets
// socket options on the descriptor before the bind. The socket is
// non-blocking and sits in Go's poller through the returned RawConn, so
// closing the file wakes a blocked read. It needs CAP_NET_RAW in the
// namespace.
func (n *NS) PacketSocket(dev string, setup func(fd int) error) (*os.File, syscall.RawConn, error) {
	fd := -1
	err := n.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		// Protocol 0 receives nothing until bind names the interface and
		// ETH_P_ALL, so no frame of another interface slips in.
		fd, err = unix.Socket(unix.AF_PACKET,
			unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if setup != nil {
			if err := setup(fd); err != nil {
				return err
			}
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{
			Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index})
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fd), "packet:"+dev)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, rc, nil
}

// htons swaps a 16-bit value to network byte order (on little-endian
// machines, which is all this kernel code runs on).
func htons(v uint16) uint16 { return v<<8 | v>>8 }
