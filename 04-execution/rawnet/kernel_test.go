package rawnet

import (
	"errors"
	"testing"
	"time"

	"backend-protocols/internal/kernel"

	"golang.org/x/sys/unix"
)

// TestKernelSeesAcceptQueue connects to a listener nobody accepts on and
// finds the connections in its accept queue, as the kernel reports it.
func TestKernelSeesAcceptQueue(t *testing.T) {
	ln, err := Listen("127.0.0.1:0", ListenConfig{Backlog: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for range 3 {
		fd, err := Connect(ln.Addr().String(), DialConfig{})
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
		if err := WaitConnected(fd, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	queue := func() int {
		tab, err := kernel.TCPTable()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tab {
			if s.Local == ln.Addr() && s.State == kernel.StateListen {
				return s.RxQueue
			}
		}
		t.Fatalf("listener %v not in /proc/net/tcp", ln.Addr())
		return 0
	}
	waitFor(t, "3 queued connections", func() bool { return queue() == 3 })

	// Bytes sent and not read sit in the server side's receive queue:
	// accept one and ask SIOCINQ.
	unix.Write(fds[0], []byte("hello"))
	sfd, _, err := unix.Accept4(ln.FD(), unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sfd)
	waitFor(t, "5 bytes in the receive queue", func() bool {
		n, _ := kernel.InQueue(sfd)
		return n == 5
	})
	if q := queue(); q != 2 {
		t.Errorf("after one accept: got queue %d, want 2", q)
	}
	if n, err := kernel.OutQueue(fds[0]); err != nil || n != 0 {
		t.Errorf("sender's send queue: got %d, %v; want 0 (acked)", n, err)
	}
	info, err := kernel.TCPInfo(sfd)
	if err != nil || kernel.TCPState(info.State) != kernel.StateEstablished {
		t.Errorf("TCP_INFO: got %+v, %v", info, err)
	}
}

// TestInNewNetns checks that a sysctl set inside the namespace is not the
// host's, and that sockets made there work on its loopback.
func TestInNewNetns(t *testing.T) {
	host, err := Sysctl("net.ipv4.tcp_migrate_req")
	if err != nil {
		t.Skip("no net.ipv4.tcp_migrate_req here:", err)
	}
	err = InNewNetns(func() error {
		flip := "1"
		if host == "1" {
			flip = "0"
		}
		if err := SetSysctl("net.ipv4.tcp_migrate_req", flip); err != nil {
			return err
		}
		if got, _ := Sysctl("net.ipv4.tcp_migrate_req"); got != flip {
			t.Errorf("inside: got %s, want %s", got, flip)
		}
		ln, err := Listen("127.0.0.1:0", ListenConfig{})
		if err != nil {
			return err
		}
		defer ln.Close()
		fd, err := Connect(ln.Addr().String(), DialConfig{})
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return WaitConnected(fd, 5*time.Second)
	})
	if errors.Is(err, ErrNoNetns) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := Sysctl("net.ipv4.tcp_migrate_req"); got != host {
		t.Errorf("host's value changed: got %s, want %s", got, host)
	}
	if err := SetSysctl("kernel.hostname", "x"); err == nil {
		t.Error("SetSysctl outside net.*: got no error")
	}
}
