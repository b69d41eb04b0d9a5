package netem

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"backend-protocols/internal/leak"
	"backend-protocols/internal/netns"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	netns.Reexec() // a non-root user gets namespaces where the kernel allows
	os.Exit(m.Run())
}

// newChain makes a chain the test closes, or skips when namespaces are
// not available.
func newChain(t *testing.T, hops ...Hop) *Chain {
	t.Helper()
	if err := netns.Available(); err != nil {
		t.Skip(err)
	}
	c, err := NewChain(hops...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// listen listens on the server at port 0 of its address and closes the
// listener at the end of the test.
func listen(t *testing.T, c *Chain, network string) string {
	t.Helper()
	addr := netip.AddrPortFrom(c.Addr(len(c.Hosts)-1), 0).String()
	switch network {
	case "tcp":
		ln, err := c.Server().Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go serveEcho(ln)
		return ln.Addr().String()
	default:
		pc, err := c.Server().ListenPacket("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		t.Cleanup(func() { pc.Close(); <-done })
		go func() {
			defer close(done)
			buf := make([]byte, 65536)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:n], from)
			}
		}()
		return pc.LocalAddr().String()
	}
}

// timed runs measure until one run takes at most want+slack, up to tries
// times, and fails the test if none does or if any run beats want, which
// the emulated delays make impossible. Taking the best of a few runs keeps
// the check tight on a loaded machine, where the scheduler can hold up any
// single run (the client, the server or the kernel's softirq), without
// letting a wrong delay pass: a systematic error shows in every run.
func timed(t *testing.T, what string, want, slack time.Duration, tries int,
	measure func() time.Duration) {
	t.Helper()
	var got []time.Duration
	for range tries {
		d := measure()
		got = append(got, d)
		if d < want {
			t.Errorf("got %s in %v, faster than the emulated %v", what, d, want)
			return
		}
		if d <= want+slack {
			t.Logf("%s took %v", what, got)
			return
		}
	}
	t.Errorf("got %s in %v, want one within %v of %v", what, got, slack, want)
}

// tcpFlags returns the flags of a TCP packet, or 0 for anything else.
func tcpFlags(pkt []byte) byte {
	ihl := int(pkt[0]&0x0f) * 4
	if pkt[9] != unix.IPPROTO_TCP || len(pkt) < ihl+20 {
		return 0
	}
	return pkt[ihl+13]
}

const synFlag, ackFlag = 0x02, 0x10

// serveEcho echoes every connection ln accepts until ln is closed.
func serveEcho(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			io.Copy(conn, conn)
		}()
	}
}

// TestTCPConnectCostsOneRoundTrip dials across a pair: the SYN and the
// SYN-ACK each wait the one-way delay, so connect takes twice that.
func TestTCPConnectCostsOneRoundTrip(t *testing.T) {
	for _, oneWay := range []time.Duration{25 * time.Millisecond, 50 * time.Millisecond} {
		t.Run(oneWay.String(), func(t *testing.T) {
			var syns, synAcks atomic.Int64
			tap := func(up bool, pkt []byte, _ bool) {
				switch f := tcpFlags(pkt); {
				case up && f == synFlag:
					syns.Add(1)
				case !up && f == synFlag|ackFlag:
					synAcks.Add(1)
				}
			}
			p := Path{Delay: oneWay}
			c := newChain(t, Hop{Up: p, Down: p, Tap: tap})
			addr := listen(t, c, "tcp")
			timed(t, "connect", 2*oneWay, 5*time.Millisecond, 10, func() time.Duration {
				start := time.Now()
				conn, err := c.Client().Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				return time.Since(start)
			})
			n := syns.Load()
			if n < 1 || synAcks.Load() != n {
				t.Errorf("got %d SYNs up and %d SYN-ACKs down, want one each per connect",
					n, synAcks.Load())
			}
		})
	}
}

// echoUDP sends b from the client and waits for the echo.
func echoUDP(t *testing.T, conn net.Conn, b []byte) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 65536)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], b) {
		t.Fatalf("got %d bytes back, want the %d sent", n, len(b))
	}
	return time.Since(start)
}

func TestUDPEchoAndCounts(t *testing.T) {
	const oneWay = 10 * time.Millisecond
	p := Path{Delay: oneWay}
	c := newChain(t, Hop{Up: p, Down: p})
	conn, err := c.Client().Dial("udp", listen(t, c, "udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	timed(t, "UDP round trip", 2*oneWay, 5*time.Millisecond, 10, func() time.Duration {
		n++
		return echoUDP(t, conn, []byte("hello, namespace"))
	})
	// One datagram each way per echo: 20 bytes of IP header, 8 of UDP,
	// 16 of data.
	want := Stats{Packets: n, Bytes: 44 * n}
	if s := c.Links[0].Up(); s != want {
		t.Errorf("got up %+v, want %+v", s, want)
	}
	if s := c.Links[0].Down(); s != want {
		t.Errorf("got down %+v, want %+v", s, want)
	}
}

// waitPackets waits until the link has seen n packets going up.
func waitPackets(t *testing.T, l *Link, n int) {
	t.Helper()
	if !until(5*time.Second, func() bool { return l.Up().Packets >= n }) {
		t.Fatalf("link saw %d of %d packets", l.Up().Packets, n)
	}
}

// until polls cond every millisecond for up to d and reports whether it
// came true.
func until(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

func TestLossDropsItsShare(t *testing.T) {
	c := newChain(t, Hop{Up: Path{Delay: time.Millisecond, Loss: 0.1, Seed: 9}})
	srv, err := c.Server().ListenPacket("udp", netip.AddrPortFrom(c.Addr(1), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := srv.ReadFrom(buf); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	conn, err := c.Client().Dial("udp", srv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 1000
	for i := range n {
		conn.Write(make([]byte, 100))
		if (i+1)%50 == 0 { // let the link keep up: no socket overflows
			waitPackets(t, c.Links[0], i+1)
		}
	}
	s := c.Links[0].Up()
	if s.Dropped < 70 || s.Dropped > 130 {
		t.Errorf("got %d of %d dropped, want about 100", s.Dropped, n)
	}
	until(5*time.Second, func() bool { return got.Load() >= int64(n-s.Dropped) })
	if g := got.Load(); g != int64(n-s.Dropped) {
		t.Errorf("server got %d datagrams, want %d sent - %d dropped", g, n, s.Dropped)
	}
	srv.Close()
	<-done
}

// TestTCPDeliversEveryByteUnderLoss sends a megabyte through 2% loss each
// way: the kernel's retransmissions repair every hole.
func TestTCPDeliversEveryByteUnderLoss(t *testing.T) {
	lossy := func(seed uint64) Path {
		return Path{Delay: time.Millisecond, Loss: 0.02, Seed: seed}
	}
	c := newChain(t, Hop{Up: lossy(1), Down: lossy(2)})
	ln, err := c.Server().Listen("tcp", netip.AddrPortFrom(c.Addr(1), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sum := make(chan [32]byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			sum <- [32]byte{}
			return
		}
		defer conn.Close()
		h := sha256.New()
		io.Copy(h, conn)
		sum <- [32]byte(h.Sum(nil))
	}()
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	conn, err := c.Client().Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write(data); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if got := <-sum; got != sha256.Sum256(data) {
		t.Errorf("got sha256 %x, want %x", got, sha256.Sum256(data))
	}
	up := c.Links[0].Up()
	if up.Dropped == 0 || up.Packets < len(data)/1448 {
		t.Errorf("got up %+v, want over %d packets and some dropped", up, len(data)/1448)
	}
	t.Logf("up %+v, down %+v", up, c.Links[0].Down())
}

// TestDropTheFirstSYN drops the client's first SYN: the kernel resends it
// after its initial retransmission timeout of one second (RFC 6298 2.1).
// A relay in user space never sees a SYN, so it could not do this.
func TestDropTheFirstSYN(t *testing.T) {
	drop := func(seq int, pkt []byte) bool {
		return seq == 1 && tcpFlags(pkt) == synFlag
	}
	c := newChain(t, Hop{Up: Path{Drop: drop}})
	addr := listen(t, c, "tcp")
	start := time.Now()
	conn, err := c.Client().Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if d := time.Since(start); d < time.Second || d > 1500*time.Millisecond {
		t.Errorf("got connect in %v, want about 1s (one SYN retransmission)", d)
	}
	if s := c.Links[0].Up(); s.Dropped != 1 {
		t.Errorf("got %d dropped, want 1", s.Dropped)
	}
}

// TestTCPFastOpen runs TFO across the link: the second connection carries
// its data in the SYN, so the answer comes one round trip after connect
// starts instead of two.
func TestTCPFastOpen(t *testing.T) {
	const oneWay = 20 * time.Millisecond
	p := Path{Delay: oneWay}
	var synData atomic.Int64
	tap := func(up bool, pkt []byte, _ bool) {
		ihl := int(pkt[0]&0x0f) * 4
		if up && tcpFlags(pkt)&synFlag != 0 {
			hl := int(pkt[ihl+12]>>4) * 4
			synData.Add(int64(len(pkt) - ihl - hl))
		}
	}
	c := newChain(t, Hop{Up: p, Down: p, Tap: tap})
	for _, h := range []*netns.NS{c.Client(), c.Server()} {
		if err := h.Sysctl("net.ipv4.tcp_fastopen", "3"); err != nil {
			t.Fatal(err)
		}
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_FASTOPEN, 16)
		})
		return err
	}}
	var ln net.Listener
	err := c.Server().Do(func() (err error) {
		ln, err = lc.Listen(t.Context(), "tcp", netip.AddrPortFrom(c.Addr(1), 0).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serveEcho(ln)
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT, 1)
		})
		return err
	}}
	exchange := func() time.Duration {
		start := time.Now()
		var conn net.Conn
		err := c.Client().Do(func() (err error) {
			conn, err = d.Dial("tcp", ln.Addr().String())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadFull(conn, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	// The first connection asks for a cookie: handshake, then request.
	if first := exchange(); first < 4*oneWay {
		t.Errorf("got the first exchange in %v, want at least %v", first, 4*oneWay)
	}
	if n := synData.Load(); n != 0 {
		t.Errorf("got %d bytes of data in the first SYN, want 0", n)
	}
	// Later ones carry the request in the SYN, with the cookie.
	var n int64
	timed(t, "TFO exchange", 2*oneWay, 5*time.Millisecond, 5, func() time.Duration {
		n++
		return exchange()
	})
	if got := synData.Load(); got != 4*n {
		t.Errorf("got %d bytes of data in %d SYNs, want %d", got, n, 4*n)
	}
}

// udpSocket opens a UDP socket in ns connected to dst, with IP_RECVERR on
// so that ICMP errors come back to it.
func udpSocket(t *testing.T, ns *netns.NS, dst netip.AddrPort) int {
	t.Helper()
	fd := -1
	err := ns.Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_RECVERR, 1); err != nil {
			return err
		}
		return unix.Connect(fd, &unix.SockaddrInet4{Addr: dst.Addr().As4(), Port: int(dst.Port())})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 2})
	return fd
}

// icmpError waits for an ICMP error queued on fd, skipping local errors,
// and returns its type, code and the address of the host that sent it.
func icmpError(t *testing.T, fd int) (typ, code uint8, from netip.Addr) {
	t.Helper()
	buf, oob := make([]byte, 2048), make([]byte, 512)
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			// Wait for the kernel to queue an error: poll reports POLLERR
			// without being asked.
			left := time.Until(deadline)
			if left <= 0 {
				t.Fatal("no ICMP error arrived")
			}
			unix.Poll([]unix.PollFd{{Fd: int32(fd)}}, int(left.Milliseconds())+1)
			continue
		}
		if err != nil {
			t.Fatalf("reading the error queue: %v", err)
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Header.Level != unix.IPPROTO_IP || m.Header.Type != unix.IP_RECVERR {
				continue
			}
			// struct sock_extended_err (16 bytes), then the offender's
			// struct sockaddr_in.
			d := m.Data
			if len(d) < 16+8 {
				t.Fatalf("short IP_RECVERR message: %d bytes", len(d))
			}
			if d[4] != unix.SO_EE_ORIGIN_ICMP {
				continue // such as our own EMSGSIZE
			}
			off := d[16:]
			return d[5], d[6], netip.AddrFrom4([4]byte(off[4:8]))
		}
	}
}

// TestChainForwardsAndExpiresTTL sends datagrams through a router: with
// TTL 1 the router answers ICMP Time Exceeded (type 11), with TTL 2 the
// server gets them. That is how traceroute finds the hops.
func TestChainForwardsAndExpiresTTL(t *testing.T) {
	c := newChain(t, Hop{}, Hop{})
	dst := netip.MustParseAddrPort(listen(t, c, "udp"))
	fd := udpSocket(t, c.Client(), dst)
	unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, 1)
	unix.Write(fd, []byte("ttl 1"))
	typ, _, from := icmpError(t, fd)
	if typ != 11 || from != c.Addr(1) {
		t.Errorf("got ICMP type %d from %v, want 11 (time exceeded) from the router %v",
			typ, from, c.Addr(1))
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, 2)
	unix.Write(fd, []byte("ttl 2"))
	buf := make([]byte, 64)
	n, err := unix.Read(fd, buf)
	if err != nil || string(buf[:max(n, 0)]) != "ttl 2" {
		t.Errorf("got %q, %v; want the echo of \"ttl 2\" from the server", buf[:max(n, 0)], err)
	}
}

// TestChainMTU sends through a router whose link to the server carries
// at most 1400 bytes: with DF set a bigger datagram is refused (ICMP
// Fragmentation Needed from the router, then EMSGSIZE on the socket);
// without DF the router fragments it and the server reassembles it.
func TestChainMTU(t *testing.T) {
	c := newChain(t, Hop{}, Hop{MTU: 1400})
	dst := netip.MustParseAddrPort(listen(t, c, "udp"))
	big := bytes.Repeat([]byte("m"), 1450) // 1478 bytes as an IP packet

	t.Run("DF", func(t *testing.T) {
		fd := udpSocket(t, c.Client(), dst)
		unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
		if _, err := unix.Write(fd, make([]byte, 1600)); err != unix.EMSGSIZE {
			t.Errorf("got %v sending 1600 bytes on a 1500-byte link, want EMSGSIZE", err)
		}
		if _, err := unix.Write(fd, big); err != nil {
			t.Fatal(err) // fits the first link; the router refuses it
		}
		typ, code, from := icmpError(t, fd)
		if typ != 3 || code != 4 || from != c.Addr(1) {
			t.Errorf("got ICMP %d/%d from %v, want 3/4 (fragmentation needed) from %v",
				typ, code, from, c.Addr(1))
		}
		if mtu, _ := unix.GetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU); mtu != 1400 {
			t.Errorf("got path MTU %d, want 1400", mtu)
		}
		if _, err := unix.Write(fd, big); err != unix.EMSGSIZE {
			t.Errorf("got %v resending, want EMSGSIZE", err)
		}
	})
	t.Run("fragmented", func(t *testing.T) {
		fd := udpSocket(t, c.Client(), dst)
		unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT)
		before := c.Links[1].Up().Packets
		if _, err := unix.Write(fd, big); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2048)
		n, err := unix.Read(fd, buf)
		if err != nil || n != len(big) {
			t.Fatalf("got %d bytes, %v; want the %d-byte echo", n, err, len(big))
		}
		if got := c.Links[1].Up().Packets - before; got != 2 {
			t.Errorf("got %d packets on the 1400-byte link, want 2 fragments", got)
		}
	})
}

// connectAcross listens on the server and connects from the client; the
// caller closes both.
func connectAcross(t *testing.T, c *Chain) (net.Listener, net.Conn) {
	t.Helper()
	srv := netip.AddrPortFrom(c.Addr(len(c.Hosts)-1), 0)
	ln, err := c.Server().Listen("tcp", srv.String())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.Client().Dial("tcp", ln.Addr().String())
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	return ln, conn
}

// TestCloseLeavesNothing checks that a used and closed chain leaves no
// goroutine, file descriptor or thread behind in a namespace.
func TestCloseLeavesNothing(t *testing.T) {
	if err := netns.Available(); err != nil {
		t.Skip(err)
	}
	run := func() {
		p := Path{Delay: time.Millisecond}
		c, err := NewChain(Hop{Up: p, Down: p}, Hop{Up: p, Down: p})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ln, conn := connectAcross(t, c)
		conn.Close()
		ln.Close()
	}
	run() // warm up: the runtime keeps a few fds and threads of its own
	fds := len(leak.FDs())
	for range 3 {
		run()
	}
	if got := leak.FDs(); len(got) > fds {
		t.Errorf("got %d open fds %v, want at most %d", len(got), got, fds)
	}
	if left := leak.Gone(2*time.Second, "netem.(*Link)", "netem.(*queue",
		"netns.onThread"); len(left) > 0 {
		t.Errorf("got goroutines left after Close:\n%s", strings.Join(left, "\n\n"))
	}
	if s := netns.StrayThreads(); len(s) > 0 {
		t.Errorf("got threads left in a namespace: %v", s)
	}
}

// TestNATInRouter runs nft inside the router to masquerade what leaves
// toward the server: the server then sees the router's address, not the
// client's. Issue-sized NAT demos build on this.
func TestNATInRouter(t *testing.T) {
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Skip("nft not installed (Debian package nftables)")
	}
	c := newChain(t, Hop{}, Hop{})
	cmd := exec.Command(nft, "-f", "-")
	cmd.Stdin = strings.NewReader(`table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "eth1" masquerade
	}
}`)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := c.Hosts[1].Do(cmd.Run); err != nil {
		t.Fatalf("nft in the router: %v\n%s", err, out.Bytes())
	}
	ln, conn := connectAcross(t, c)
	defer ln.Close()
	defer conn.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	from := sc.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
	if want := netip.MustParseAddr("10.0.1.1"); from != want {
		t.Errorf("server saw the client as %v, want the router's %v", from, want)
	}
}
