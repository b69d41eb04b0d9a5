package rawnet

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNoNetns is returned by InNewNetns when this process may not make a
// network namespace (it needs CAP_SYS_ADMIN: root).
var ErrNoNetns = errors.New("rawnet: cannot create a network namespace (needs root)")

// InNewNetns runs f on an OS thread of its own that has been moved into a
// new, empty network namespace with its loopback interface up. Sockets f
// creates live in that namespace, whichever thread uses them later, and
// the sysctls f sets (SetSysctl) and the /proc/thread-self/net files it
// reads are the namespace's own: the host's are never touched. The thread
// ends with f. Only root may do this; others get ErrNoNetns.
func InNewNetns(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the runtime ends a thread whose goroutine
		// exits locked, so the namespace goes with it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("%w: unshare: %v", ErrNoNetns, err)
			return
		}
		if err := loopbackUp(); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// loopbackUp sets IFF_UP on lo, as "ip link set lo up" does.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS lo: %w", err)
	}
	return nil
}

// SetSysctl writes a net.* sysctl ("net.ipv4.tcp_migrate_req") for the
// network namespace of the calling thread. Call it only inside
// InNewNetns: in the host's namespace it would change the host.
func SetSysctl(name, value string) error {
	if !strings.HasPrefix(name, "net.") {
		return fmt.Errorf("rawnet: %s is not a per-namespace net sysctl", name)
	}
	path := "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
	return os.WriteFile(path, []byte(value), 0)
}

// Sysctl reads a sysctl for the calling thread's namespace.
func Sysctl(name string) (string, error) {
	b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	return strings.TrimSpace(string(b)), err
}
