// Package netns makes Linux network namespaces from Go, wires them together
// with veth pairs, and runs code inside them, with only the standard library
// and x/sys/unix (rtnetlink and ioctls; no ip or ethtool binary).
//
// A network namespace is a whole private network stack: its own
// interfaces, addresses, routes, firewall, sysctls and port numbers. Demos
// use a few of them as the hosts of a small network (a client, a router, a
// server) on one machine.
//
//	a, _ := netns.New("client")
//	b, _ := netns.New("server")
//	defer a.Close()
//	defer b.Close()
//	netns.Veth(a, "eth0", b, "eth0", 1500)              // a virtual cable
//	a.AddAddr("eth0", netip.MustParsePrefix("10.0.0.1/24"))
//	b.AddAddr("eth0", netip.MustParsePrefix("10.0.0.2/24"))
//	b.Sysctl("net.ipv4.tcp_fastopen", "3")              // this host only
//	ln, _ := b.Listen("tcp", "10.0.0.2:8080")
//	c, _ := a.Dial("tcp", "10.0.0.2:8080")              // crosses the cable
//
// # How it works
//
// The kernel keeps the network namespace per thread, not per process, and
// a socket belongs for good to the namespace of the thread that created
// it. So Do locks a goroutine to its OS thread, moves the thread into the
// namespace with setns(2), runs the function, and moves the thread back
// before unlocking it; a thread that cannot be moved back is never
// unlocked, so it exits with its goroutine instead of carrying a foreign
// namespace into unrelated code. Listen, Dial and friends are Do around the
// net package's calls: the listener or connection they return can then be
// used from any goroutine, like any other. A process started inside Do
// (n.Do(cmd.Run)) inherits the namespace: that is how to run nft, ip, ping
// or tcpdump there. Files under /proc/sys/net and /proc/thread-self/net
// (such as /proc/thread-self/net/netstat, the TCP counters) show the
// namespace of the reading thread, so read them inside Do; /proc/net is the
// main thread's view.
//
// A namespace lives as long as a file descriptor, a socket or a thread
// refers to it; NS holds a descriptor (no /run/netns mount and no name in
// the system), and the kernel deletes the namespace and its interfaces
// once Close has run and its last socket is closed. StrayThreads lets a
// test check that no thread was left behind in one.
//
// Two kernel habits are handled for the caller. A new interface drops the
// packets it is asked to send until the kernel's link watcher has seen its
// carrier come up, which for a veth can take up to a second; Veth gives
// the two ends different interface indexes (the watcher then acts at
// once) and returns only when both are operationally up. And a veth by
// default hands its peer 64 KB TCP "super-frames" whose checksums are left
// to hardware that does not exist; DisableOffloads turns that off, so a
// packet socket sees the packets a real wire would carry.
//
// # Permissions
//
// Making namespaces needs CAP_SYS_ADMIN and CAP_NET_ADMIN: root, or root of
// a user namespace. Available reports whether it works, with a reason to
// print or to pass to t.Skip. A non-root user can still get there where the
// kernel allows unprivileged user namespaces: Reexec runs the program again
// as root of a new user namespace (a running Go program has threads and
// cannot enter one itself). Inside it, veth pairs, packet sockets and
// per-namespace sysctls work; /dev/net/tun (mode 0600 here) does not.
//
// # Limits
//
// IPv4 only for addresses and routes; IPv6 is switched off on new
// interfaces so they stay silent. Host names given to Listen and Dial
// should be literal addresses, since a resolver may do its work on other
// threads, in the host's namespace.
package netns
