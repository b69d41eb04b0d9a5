package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// NS is a network namespace held open by a file descriptor. It lives until
// Close, and after that until the last socket made inside it is closed.
type NS struct {
	name string

	mu sync.Mutex
	fd int // -1 once closed
}

// New makes a network namespace with its loopback interface up. name only
// labels it in errors and String. The namespace starts with IPv6 off for
// interfaces added later (net.ipv6.conf.default.disable_ipv6=1), so they do
// not send router solicitations and neighbour discovery of their own; lo
// keeps ::1.
func New(name string) (*NS, error) {
	fd := -1
	err := onThread(-1, func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		var err error
		fd, err = unix.Open("/proc/thread-self/ns/net",
			unix.O_RDONLY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("netns: new %s: %w", name, err)
	}
	n := &NS{name: name, fd: fd}
	err = n.Do(func() error {
		if err := setUp("lo"); err != nil {
			return err
		}
		err := writeSysctl("net.ipv6.conf.default.disable_ipv6", "1")
		if errors.Is(err, os.ErrNotExist) {
			err = nil // a kernel without IPv6
		}
		return err
	})
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("netns: new %s: %w", name, err)
	}
	return n, nil
}

// String returns the name given to New.
func (n *NS) String() string { return n.name }

// Close releases the namespace. The kernel destroys it, with its
// interfaces, once no socket or thread still uses it. Close is idempotent.
func (n *NS) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fd < 0 {
		return nil
	}
	err := unix.Close(n.fd)
	n.fd = -1
	return err
}

// Do runs f on an OS thread that is inside the namespace and returns f's
// error. Sockets f creates belong to the namespace for good and may be used
// from any goroutine afterwards; so do processes f starts (n.Do(cmd.Run)).
// Goroutines that f starts do not run inside the namespace, and host names
// should be literal addresses (a resolver may use other threads).
//
// f should return: if it calls runtime.Goexit (t.Fatal does), Do returns
// an error instead.
func (n *NS) Do(f func() error) error {
	n.mu.Lock()
	fd := n.fd
	if fd < 0 {
		n.mu.Unlock()
		return fmt.Errorf("netns: %s: %w", n.name, net.ErrClosed)
	}
	// Hold a duplicate so that a concurrent Close cannot pull the fd away
	// between here and setns.
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	n.mu.Unlock()
	if err != nil {
		return fmt.Errorf("netns: %s: %w", n.name, err)
	}
	defer unix.Close(dup)
	return onThread(dup, f)
}

// onThread runs f on a fresh goroutine locked to its OS thread, after
// moving that thread into the namespace target (unless target is -1), and
// moves the thread back afterwards, even if f panics or calls Goexit. Only
// a thread that made it back is unlocked and returns to the runtime's pool;
// any other exits with its goroutine, so no goroutine ever runs by surprise
// in a foreign namespace.
func onThread(target int, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := unix.Open("/proc/thread-self/ns/net",
			unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		// Stays the answer if f panics or calls Goexit.
		err = errors.New("netns: function did not return")
		defer func() {
			// Move back before answering, so the caller never sees
			// this thread outside its home.
			if unix.Setns(home, unix.CLONE_NEWNET) == nil {
				runtime.UnlockOSThread()
			}
			unix.Close(home)
			done <- err
		}()
		if target >= 0 {
			if serr := unix.Setns(target, unix.CLONE_NEWNET); serr != nil {
				err = fmt.Errorf("setns: %w", serr)
				return
			}
		}
		err = f()
	}()
	return <-done
}

// Listen is net.Listen inside the namespace.
func (n *NS) Listen(network, address string) (net.Listener, error) {
	var ln net.Listener
	err := n.Do(func() (err error) {
		ln, err = net.Listen(network, address)
		return err
	})
	return ln, err
}

// ListenPacket is net.ListenPacket inside the namespace.
func (n *NS) ListenPacket(network, address string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.Do(func() (err error) {
		c, err = net.ListenPacket(network, address)
		return err
	})
	return c, err
}

// Dial is net.Dial inside the namespace.
func (n *NS) Dial(network, address string) (net.Conn, error) {
	return n.DialContext(context.Background(), network, address)
}

// DialContext dials from inside the namespace; it fits
// http.Transport.DialContext. For dialer options (TCP Fast Open, a local
// address) call a net.Dialer inside Do instead.
func (n *NS) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// Sysctl sets a kernel parameter of the namespace, such as
// Sysctl("net.ipv4.ip_forward", "1") or Sysctl("net.ipv4.tcp_fastopen",
// "3"). Parameters under net. are per namespace; the host's stay as they
// were.
func (n *NS) Sysctl(key, value string) error {
	return n.Do(func() error { return writeSysctl(key, value) })
}

// ReadSysctl reads a kernel parameter of the namespace, without the
// trailing newline.
func (n *NS) ReadSysctl(key string) (string, error) {
	var v string
	err := n.Do(func() error {
		b, err := os.ReadFile(sysctlPath(key))
		v = strings.TrimSpace(string(b))
		return err
	})
	return v, err
}

// sysctlPath maps net.ipv4.ip_forward to /proc/sys/net/ipv4/ip_forward.
// /proc/sys/net shows the namespace of the calling thread.
func sysctlPath(key string) string {
	return "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
}

func writeSysctl(key, value string) error {
	f, err := os.OpenFile(sysctlPath(key), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

var (
	availOnce sync.Once
	availErr  error
)

// Available reports whether this process can make network namespaces: nil
// if it can, otherwise an error that says why, for a t.Skip or a message
// that a demo prints before it falls back. It needs root (CAP_SYS_ADMIN and
// CAP_NET_ADMIN), or a user namespace entered through Reexec.
func Available() error {
	availOnce.Do(func() {
		n, err := New("probe")
		if err != nil {
			availErr = err
			return
		}
		n.Close()
	})
	if availErr == nil {
		return nil
	}
	err := fmt.Errorf("network namespaces unavailable "+
		"(need root, or an unprivileged user namespace): %w", availErr)
	if reexecErr != nil {
		err = fmt.Errorf("%w; user namespace: %v", err, reexecErr)
	}
	return err
}

// home is the network namespace of the process's threads, read at start-up
// on the main thread, before any Do.
var home, _ = os.Readlink("/proc/thread-self/ns/net")

// StrayThreads lists the process's threads that are not in the network
// namespace the process started in, as "/proc/self/task/TID/ns/net ->
// net:[INODE]". Tests call it after Close to check that no thread was left
// behind in a namespace; it is empty when all is well.
func StrayThreads() []string {
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	var stray []string
	for _, p := range tasks {
		if s, err := os.Readlink(p); err == nil && s != home {
			stray = append(stray, p+" -> "+s)
		}
	}
	return stray
}
