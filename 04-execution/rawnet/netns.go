package rawnet

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"backend-protocols/internal/netns"
)

// ErrNoNetns is returned by InNewNetns when this process may not make a
// network namespace (it needs CAP_SYS_ADMIN: root).
var ErrNoNetns = errors.New("rawnet: cannot create a network namespace (needs root)")

// InNewNetns runs f on an OS thread moved into a new, empty network
// namespace with its loopback interface up (internal/netns does the
// work). Sockets f creates live in that namespace, whichever thread uses
// them later, and the sysctls f sets (SetSysctl) and the
// /proc/thread-self/net files it reads are the namespace's own: the
// host's are never touched. The namespace is gone when InNewNetns
// returns. Only root may do this; others get ErrNoNetns.
func InNewNetns(f func() error) error {
	if err := netns.Available(); err != nil {
		return fmt.Errorf("%w: %v", ErrNoNetns, err)
	}
	ns, err := netns.New("rawnet")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoNetns, err)
	}
	defer ns.Close()
	return ns.Do(f)
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
