package netns

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"backend-protocols/internal/leak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	Reexec() // lets a non-root user run these tests where the kernel allows
	os.Exit(m.Run())
}

// need skips the test when this process cannot make namespaces.
func need(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
}

// newNS makes a namespace that the test closes.
func newNS(t *testing.T, name string) *NS {
	t.Helper()
	n, err := New(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// nsOf returns the namespace identity of a /proc ns link.
func nsOf(t *testing.T, path string) string {
	t.Helper()
	s, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDoRunsInsideAndComesBack(t *testing.T) {
	need(t)
	n := newNS(t, "inside")
	var inside string
	var ifaces []net.Interface
	err := n.Do(func() (err error) {
		if inside, err = os.Readlink("/proc/thread-self/ns/net"); err != nil {
			return err
		}
		ifaces, err = net.Interfaces()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if inside == home {
		t.Errorf("got namespace %s inside Do, want a new one", inside)
	}
	if len(ifaces) != 1 || ifaces[0].Name != "lo" || ifaces[0].Flags&net.FlagUp == 0 {
		t.Errorf("got interfaces %v, want only lo, up", ifaces)
	}
	if s := StrayThreads(); len(s) > 0 {
		t.Errorf("got threads left in a namespace: %v", s)
	}
}

func TestSysctlIsPerNamespace(t *testing.T) {
	need(t)
	n := newNS(t, "tfo")
	before, err := os.ReadFile("/proc/sys/net/ipv4/tcp_fastopen")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Sysctl("net.ipv4.tcp_fastopen", "3"); err != nil {
		t.Fatal(err)
	}
	if v, err := n.ReadSysctl("net.ipv4.tcp_fastopen"); err != nil || v != "3" {
		t.Errorf("got tcp_fastopen %q, %v inside, want 3", v, err)
	}
	after, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_fastopen")
	if !bytes.Equal(before, after) {
		t.Errorf("host tcp_fastopen changed from %q to %q", before, after)
	}
}

// TestVethCarriesTCP joins two namespaces with a veth pair and sends bytes
// from one to the other over TCP.
func TestVethCarriesTCP(t *testing.T) {
	need(t)
	a, b := newNS(t, "a"), newNS(t, "b")
	if err := Veth(a, "eth0", b, "eth0", 1400); err != nil {
		t.Fatal(err)
	}
	aIP := netip.MustParsePrefix("10.9.0.1/24")
	bIP := netip.MustParsePrefix("10.9.0.2/24")
	if err := a.AddAddr("eth0", aIP); err != nil {
		t.Fatal(err)
	}
	if err := b.AddAddr("eth0", bIP); err != nil {
		t.Fatal(err)
	}
	if ifi, err := b.Interface("eth0"); err != nil || ifi.MTU != 1400 {
		t.Fatalf("got interface %+v, %v; want MTU 1400", ifi, err)
	}
	ln, err := b.Listen("tcp", bIP.Addr().String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		p, _ := io.ReadAll(c)
		got <- p
	}()
	c, err := a.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("veth "), 10000)
	c.Write(want)
	c.Close()
	if p := <-got; !bytes.Equal(p, want) {
		t.Errorf("got %d bytes across the veth, want %d", len(p), len(want))
	}
}

func TestRouteAndNeighbor(t *testing.T) {
	need(t)
	a, b := newNS(t, "a"), newNS(t, "b")
	if err := Veth(a, "eth0", b, "eth0", 0); err != nil {
		t.Fatal(err)
	}
	if err := a.AddAddr("eth0", netip.MustParsePrefix("10.9.0.1/24")); err != nil {
		t.Fatal(err)
	}
	bIf, err := b.Interface("eth0")
	if err != nil {
		t.Fatal(err)
	}
	gw := netip.MustParseAddr("10.9.0.2")
	if err := a.AddNeighbor("eth0", gw, bIf.HardwareAddr); err != nil {
		t.Fatal(err)
	}
	if err := a.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), gw); err != nil {
		t.Fatal(err)
	}
	var routes, neigh []byte
	a.Do(func() error {
		routes, _ = os.ReadFile("/proc/thread-self/net/route")
		neigh, _ = os.ReadFile("/proc/thread-self/net/arp")
		return nil
	})
	// /proc/net/route shows the default route as destination 00000000
	// with the gateway 10.9.0.2 in little-endian hex.
	if !bytes.Contains(routes, []byte("eth0\t00000000\t0200090A")) {
		t.Errorf("got routes\n%s\nwant a default route via 10.9.0.2", routes)
	}
	if !bytes.Contains(neigh, []byte(bIf.HardwareAddr.String())) ||
		!bytes.Contains(neigh, []byte("0x6")) { // ATF_COM|ATF_PERM
		t.Errorf("got ARP table\n%s\nwant 10.9.0.2 at %s, permanent", neigh, bIf.HardwareAddr)
	}
	err = a.AddRoute(netip.MustParsePrefix("10.1.0.0/16"), netip.MustParseAddr("10.8.0.1"))
	if err == nil {
		t.Errorf("got a route via an unreachable gateway, want an error")
	}
}

func TestDisableOffloads(t *testing.T) {
	need(t)
	a, b := newNS(t, "a"), newNS(t, "b")
	if err := Veth(a, "eth0", b, "eth0", 0); err != nil {
		t.Fatal(err)
	}
	if err := a.DisableOffloads("eth0"); err != nil {
		t.Fatal(err)
	}
	const getTxCsum = 0x16 // ETHTOOL_GTXCSUM
	var on uint32 = 1
	a.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		on, err = ethtool(fd, "eth0", getTxCsum, 0)
		return err
	})
	if on != 0 {
		t.Errorf("got tx checksum offload %d, want 0", on)
	}
}

func TestDoAfterClose(t *testing.T) {
	need(t)
	n, err := New("closed")
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	if err := n.Do(func() error { return nil }); err == nil {
		t.Error("got no error from Do after Close, want one")
	}
	if err := n.Close(); err != nil {
		t.Errorf("got %v from a second Close, want nil", err)
	}
}

func TestDoSurvivesGoexit(t *testing.T) {
	need(t)
	n := newNS(t, "goexit")
	err := n.Do(func() error { runtime.Goexit(); return nil })
	if err == nil {
		t.Error("got nil from Do after Goexit, want an error")
	}
	if s := StrayThreads(); len(s) > 0 {
		t.Errorf("got threads left in a namespace: %v", s)
	}
}

func TestNoLeaks(t *testing.T) {
	need(t)
	round := func() {
		a, err := New("a")
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := New("b")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if err := Veth(a, "eth0", b, "eth0", 0); err != nil {
			t.Fatal(err)
		}
		ln, err := a.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
	}
	round() // warm up: the runtime keeps a few fds (epoll) of its own
	fds := len(leak.FDs())
	for range 5 {
		round()
	}
	if got := leak.FDs(); len(got) > fds {
		t.Errorf("got %d open fds %v, want at most %d", len(got), got, fds)
	}
	if left := leak.Gone(2*time.Second, "netns.onThread"); len(left) > 0 {
		t.Errorf("got goroutines left:\n%s", strings.Join(left, "\n\n"))
	}
	if s := StrayThreads(); len(s) > 0 {
		t.Errorf("got threads left in a namespace: %v", s)
	}
}

// TestRootless runs TestVethCarriesTCP again as the unprivileged user
// nobody, which gets namespaces only through Reexec's user namespace.
func TestRootless(t *testing.T) {
	if os.Getenv(reexecEnv) != "" {
		t.Skip("already inside a user namespace")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to become another user")
	}
	// nobody must be able to read and run a copy of this test binary.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "netns.test")
	if err := os.WriteFile(exe, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestVethCarriesTCP$", "-test.v")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	switch {
	case bytes.Contains(out, []byte("--- SKIP")):
		t.Skipf("as nobody: %s", out)
	case err != nil || !bytes.Contains(out, []byte("--- PASS: TestVethCarriesTCP")):
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}
