package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"backend-protocols/internal/netem"
	"backend-protocols/internal/timeline"
)

// result is what the scenario saw, for the tests.
type result struct {
	First     datagram // the course server's first read
	DialErr   error    // dialling a port where nobody listens
	WriteErr  error    // writing to it
	ReadErr   error    // reading after that write
	Sends     []string // three sends...
	Reads     []string // ...and the reads they became
	Lossy     lossy
	Truncated truncation
}

type lossy struct {
	Sent, Received, Missing, Late int
	SendErrors                    int
	Relay                         netem.Stats
}

type truncation struct {
	Sent      int    // bytes in the datagram
	Buffer    int    // bytes the reader offered
	Got       int    // bytes Read returned
	Trunc     bool   // MSG_TRUNC was set
	Peeked    int    // length MSG_PEEK|MSG_TRUNC reported
	NextRead  string // the read after the truncated one
	GoReadErr error  // what a plain Read said
}

// ioTimeout bounds every read in the scenario.
const ioTimeout = 3 * time.Second

func scenario(ctx context.Context, tl *timeline.Timeline) (*result, error) {
	res := &result{}
	conn, err := listenLoopback()
	if err != nil {
		return res, err
	}
	got := make(chan datagram, 16)
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- serve(sctx, conn, tl, got) }()
	defer func() { stop(); <-done }()
	addr := conn.LocalAddr().String()
	tl.Note("server", "listening on udp %s", addr)

	steps := []struct {
		name string
		f    func() error
	}{
		{"no handshake", func() error { return noHandshake(tl, addr, got, res) }},
		{"boundaries", func() error { return boundaries(tl, res) }},
		{"loss", func() error { return loss(ctx, tl, res) }},
		{"truncation", func() error { return truncate(tl, res) }},
	}
	for _, s := range steps {
		if err := s.f(); err != nil {
			return res, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return res, nil
}

func recv(got <-chan datagram) (datagram, error) {
	select {
	case d := <-got:
		return d, nil
	case <-time.After(ioTimeout):
		return datagram{}, errors.New("no datagram arrived")
	}
}

// listenLoopback opens a UDP socket on 127.0.0.1 and a free port.
func listenLoopback() (*net.UDPConn, error) {
	return net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
}

// udpPair opens a receiver on loopback and a sender connected to it.
func udpPair() (rx, tx *net.UDPConn, err error) {
	if rx, err = listenLoopback(); err != nil {
		return nil, nil, err
	}
	if tx, err = net.DialUDP("udp", nil, rx.LocalAddr().(*net.UDPAddr)); err != nil {
		rx.Close()
		return nil, nil, err
	}
	return rx, tx, nil
}

// freeUDPPort returns a loopback address where nobody listens: a port
// the kernel just handed out and that was closed again.
func freeUDPPort() (string, error) {
	c, err := listenLoopback()
	if err != nil {
		return "", err
	}
	addr := c.LocalAddr().String()
	return addr, c.Close()
}

func noHandshake(tl *timeline.Timeline, addr string, got <-chan datagram,
	res *result) error {
	tl.Printf("")
	tl.Printf("== no handshake: the first packet carries the data ==")
	start := time.Now()
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	tl.Note("client", "dialled %s in %s: connect() on UDP only records the peer",
		addr, timeline.Ms(time.Since(start)))
	tl.Send("client", "server", "hi")
	if _, err := c.Write([]byte("hi")); err != nil {
		return err
	}
	if res.First, err = recv(got); err != nil {
		return err
	}
	tl.Note("client", "the server's first read was the data, %s after dialling",
		timeline.Ms(time.Since(start)))

	nobody, err := freeUDPPort()
	if err != nil {
		return err
	}
	d, err := net.Dial("udp", nobody)
	res.DialErr = err
	if err != nil {
		return err
	}
	defer d.Close()
	tl.Note("client", "dial %s, where nobody listens: %v", nobody, errText(err))
	_, res.WriteErr = d.Write([]byte("anyone there?"))
	tl.Send("client", nobody, "anyone there?  (write: %v)", errText(res.WriteErr))
	d.SetReadDeadline(time.Now().Add(ioTimeout))
	_, res.ReadErr = d.Read(make([]byte, 64))
	tl.Note("client", "next read: %v", errText(res.ReadErr))
	if errors.Is(res.ReadErr, syscall.ECONNREFUSED) {
		tl.Note("client", "the only answer was the far kernel's ICMP port unreachable")
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// boundaries sends three datagrams before the receiver reads any, then
// reads: each read returns exactly one datagram.
func boundaries(tl *timeline.Timeline, res *result) error {
	tl.Printf("")
	tl.Printf("== message boundaries are kept ==")
	rx, tx, err := udpPair()
	if err != nil {
		return err
	}
	defer rx.Close()
	defer tx.Close()
	for _, m := range []string{"one", "two", "three"} {
		if _, err := tx.Write([]byte(m)); err != nil {
			return err
		}
		res.Sends = append(res.Sends, m)
		tl.Send("client", "receiver", "%s", m)
	}
	tl.Note("receiver", "starts reading only now, with %d sends queued", len(res.Sends))
	rx.SetReadDeadline(time.Now().Add(ioTimeout))
	buf := make([]byte, 1024)
	for range res.Sends {
		n, err := rx.Read(buf)
		if err != nil {
			return err
		}
		res.Reads = append(res.Reads, string(buf[:n]))
		tl.Note("receiver", "read %d: %q", len(res.Reads), buf[:n])
	}
	return nil
}

// loss sends 100 numbered datagrams through a relay that drops 10% and
// holds back 10% so later ones overtake them, and counts what arrives.
func loss(ctx context.Context, tl *timeline.Timeline, res *result) error {
	tl.Printf("")
	tl.Printf("== through a lossy, reordering relay: nobody resends ==")
	rx, err := listenLoopback()
	if err != nil {
		return err
	}
	defer rx.Close()
	relay, err := netem.NewUDPRelay("127.0.0.1:0", rx.LocalAddr().String(),
		netem.Path{Loss: 0.1, Reorder: 0.1, Delay: time.Millisecond, Seed: 20},
		netem.Path{})
	if err != nil {
		return err
	}
	defer relay.Close()
	tx, err := net.DialUDP("udp", nil, relay.Addr())
	if err != nil {
		return err
	}
	defer tx.Close()
	const n = 100
	l := &res.Lossy
	l.Sent = n
	for i := range n {
		if _, err := tx.Write([]byte(strconv.Itoa(i))); err != nil {
			l.SendErrors++
		}
	}
	tl.Note("client", "sent %d datagrams numbered 0..%d: %d send errors",
		n, n-1, l.SendErrors)
	// The relay saw them all once its counters say so; then it delivers
	// all but the dropped ones within a few milliseconds.
	deadline := time.Now().Add(ioTimeout)
	for relay.Up().Packets < n {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("relay saw %d of %d", relay.Up().Packets, n)
		}
		time.Sleep(time.Millisecond)
	}
	l.Relay = relay.Up()
	want := n - l.Relay.Dropped + l.Relay.Duplicated
	seen := make([]bool, n)
	var order []int
	highest := -1
	buf := make([]byte, 64)
	rx.SetReadDeadline(deadline)
	for len(order) < want {
		k, err := rx.Read(buf)
		if err != nil {
			return fmt.Errorf("after %d of %d: %w", len(order), want, err)
		}
		i, err := strconv.Atoi(string(buf[:k]))
		if err != nil || i < 0 || i >= n {
			return fmt.Errorf("unexpected datagram %q", buf[:k])
		}
		seen[i] = true
		order = append(order, i)
		if i < highest {
			l.Late++
		}
		highest = max(highest, i)
	}
	// Anything still to come would be a resend; there is none.
	rx.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if k, err := rx.Read(buf); err == nil {
		return fmt.Errorf("an extra datagram %q arrived", buf[:k])
	}
	var missing []string
	for i, ok := range seen {
		if !ok {
			missing = append(missing, strconv.Itoa(i))
		}
	}
	l.Received, l.Missing = len(order), len(missing)
	tl.Note("receiver", "got %d of %d; %d arrived after a higher number",
		l.Received, n, l.Late)
	tl.Note("receiver", "first 20 in arrival order: %v", order[:min(20, len(order))])
	tl.Note("receiver", "missing for good: %s", strings.Join(missing, " "))
	tl.Note("relay", "dropped %d, held back %d of %d", l.Relay.Dropped,
		l.Relay.Reordered, l.Relay.Packets)
	return nil
}

// truncate sends a datagram bigger than the reader's buffer.
func truncate(tl *timeline.Timeline, res *result) error {
	tl.Printf("")
	tl.Printf("== a read buffer smaller than the datagram ==")
	rx, tx, err := udpPair()
	if err != nil {
		return err
	}
	defer rx.Close()
	defer tx.Close()
	tr := &res.Truncated
	big := []byte(strings.Repeat("0123456789", 10))
	tr.Sent, tr.Buffer = len(big), 16
	for _, b := range [][]byte{big, big, []byte("next")} {
		if _, err := tx.Write(b); err != nil {
			return err
		}
	}
	tl.Send("client", "receiver", "%d bytes, %d bytes, then %q", len(big), len(big), "next")
	rx.SetReadDeadline(time.Now().Add(ioTimeout))

	// Size the buffer first: MSG_PEEK|MSG_TRUNC returns the datagram's
	// real length and leaves it queued.
	if tr.Peeked, err = peekLen(rx); err != nil {
		return err
	}
	tl.Note("receiver", "recv(MSG_PEEK|MSG_TRUNC) says the next datagram is %d bytes",
		tr.Peeked)

	buf := make([]byte, tr.Buffer)
	n, err := rx.Read(buf)
	tr.GoReadErr = err
	tl.Note("receiver", "Read into %d bytes: n=%d, err=%v: no sign of the other %d",
		tr.Buffer, n, errText(err), len(big)-n)
	oob := make([]byte, 64)
	n, _, flags, _, err := rx.ReadMsgUDP(buf, oob)
	if err != nil {
		return err
	}
	tr.Got, tr.Trunc = n, flags&unix.MSG_TRUNC != 0
	tl.Note("receiver", "ReadMsgUDP into %d bytes: n=%d, flags=%#x, MSG_TRUNC=%v",
		tr.Buffer, n, flags, tr.Trunc)
	n, err = rx.Read(buf)
	if err != nil {
		return err
	}
	tr.NextRead = string(buf[:n])
	tl.Note("receiver", "next read: %q: the rest of each big datagram is gone", buf[:n])
	return nil
}

// peekLen returns the length of the next queued datagram without taking
// it, with recv(2)'s MSG_PEEK|MSG_TRUNC (Linux: "return the real length
// of the datagram, even when it was longer than the passed buffer").
func peekLen(c *net.UDPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		return !errors.Is(rerr, unix.EAGAIN)
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}
