package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"
)

// result is what the scenario saw, for the tests.
type result struct {
	Greeting string

	Writes       []string // three writes...
	Reads        []string // ...and the reads they became
	Framed       []string // the same three, newline-framed
	BigWrite     int      // one write of this many bytes...
	BigReads     int      // ...took this many reads
	Info         *unix.TCPInfo
	ServerInfo   *unix.TCPInfo
	Transferred  int
	Closes       []closeCase
	HalfClose    halfClose
	ServerStates []string
}

// closeCase is one way of closing and what the peer saw.
type closeCase struct {
	How         string
	PeerErr     error  // what the peer's Read returned
	PeerState   string // the peer's socket state before it closed
	CloserState string // the closer's socket after both closed
}

type halfClose struct {
	Request   string // what the client sent before CloseWrite
	ServerEOF bool   // the server read EOF after it
	WriteErr  error  // the client writing after CloseWrite
	Replies   string // what the client read after its CloseWrite
}

// ioTimeout bounds every read and wait in the scenario.
const ioTimeout = 5 * time.Second

func scenario(ctx context.Context, tl *timeline.Timeline) (*result, error) {
	res := &result{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- serve(sctx, ln, tl) }()
	defer func() { stop(); <-done }()
	tl.Note("server", "listening on %s", ln.Addr())
	if res.Greeting, err = hello(ctx, ln.Addr().String(), "Hi server", tl); err != nil {
		return res, err
	}
	err = waitFor("the server to print the data", func() (bool, error) {
		return len(tl.Find(func(e timeline.Event) bool {
			return e.Text == "Received data Hi server"
		})) > 0, nil
	})
	if err != nil {
		return res, err
	}
	steps := []struct {
		name string
		f    func() error
	}{
		{"boundaries", func() error { return boundaries(tl, res) }},
		{"tcp_info", func() error { return info(tl, res) }},
		{"fin and rst", func() error { return closes(tl, res) }},
		{"half-close", func() error { return halfClosed(tl, res) }},
	}
	for _, s := range steps {
		if err := s.f(); err != nil {
			return res, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return res, nil
}

// pair returns both ends of a fresh loopback TCP connection.
func pair() (client, server net.Conn, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	if server, err = ln.Accept(); err != nil {
		client.Close()
		return nil, nil, err
	}
	deadline := time.Now().Add(ioTimeout)
	client.SetDeadline(deadline)
	server.SetDeadline(deadline)
	return client, server, nil
}

// waitFor polls cond until it holds, for at most ioTimeout: the kernel's
// state changes on its own schedule, not on a signal a program can wait on.
func waitFor(what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(ioTimeout)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitQueued waits until c's receive queue holds n bytes.
func waitQueued(c net.Conn, n int) error {
	return waitFor(fmt.Sprintf("%d bytes queued", n), func() (bool, error) {
		q, err := queued(c)
		return q >= n, err
	})
}

func boundaries(tl *timeline.Timeline, res *result) error {
	tl.Printf("")
	tl.Printf("== a byte stream has no message boundaries ==")
	c, s, err := pair()
	if err != nil {
		return err
	}
	defer c.Close()
	defer s.Close()
	total := 0
	for _, m := range []string{"one", "two", "three"} {
		if _, err := io.WriteString(c, m); err != nil {
			return err
		}
		res.Writes = append(res.Writes, m)
		total += len(m)
		tl.Send("client", "server", "write %q", m)
	}
	if err := waitQueued(s, total); err != nil {
		return err
	}
	tl.Note("server", "the kernel has %d bytes queued; one read:", total)
	buf := make([]byte, 1024)
	for got := 0; got < total; {
		n, err := s.Read(buf)
		if err != nil {
			return err
		}
		got += n
		res.Reads = append(res.Reads, string(buf[:n]))
		tl.Note("server", "read %d: %q", len(res.Reads), buf[:n])
	}
	tl.Note("server", "%d writes became %d read(s): where did one message end?",
		len(res.Writes), len(res.Reads))

	// The fix: frame the messages. A newline here; a length prefix works
	// for binary data (see 02-protocols/protocol-design).
	total = 0
	for _, m := range res.Writes {
		if _, err := io.WriteString(c, m+"\n"); err != nil {
			return err
		}
		total += len(m) + 1
	}
	tl.Send("client", "server", `write "one\n", "two\n", "three\n"`)
	if err := waitQueued(s, total); err != nil {
		return err
	}
	r := bufio.NewReader(s)
	for range res.Writes {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		res.Framed = append(res.Framed, strings.TrimSuffix(line, "\n"))
	}
	tl.Note("server", "framed by newlines: %q, one read from the kernel", res.Framed)

	// And the other way: one big write, many reads.
	big := make([]byte, 1<<20)
	res.BigWrite = len(big)
	werr := make(chan error, 1)
	go func() { _, err := c.Write(big); werr <- err }()
	buf = make([]byte, 64<<10)
	for got := 0; got < len(big); {
		n, err := s.Read(buf)
		if err != nil {
			return err
		}
		got += n
		res.BigReads++
	}
	if err := <-werr; err != nil {
		return err
	}
	tl.Send("client", "server", "one write of %d bytes", len(big))
	tl.Note("server", "took %d reads of up to %d bytes", res.BigReads, len(buf))
	return nil
}

// info sends 16 MiB and then asks the kernel what it saw.
func info(tl *timeline.Timeline, res *result) error {
	tl.Printf("")
	tl.Printf("== the kernel's view: TCP_INFO after a transfer ==")
	c, s, err := pair()
	if err != nil {
		return err
	}
	defer c.Close()
	defer s.Close()
	const total = 16 << 20
	res.Transferred = total
	read := make(chan error, 1)
	go func() {
		n, err := io.CopyN(io.Discard, s, total)
		if err == nil && n != total {
			err = fmt.Errorf("server read %d of %d", n, total)
		}
		read <- err
	}()
	start := time.Now()
	chunk := make([]byte, 256<<10)
	for sent := 0; sent < total; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			return err
		}
	}
	if err := <-read; err != nil {
		return err
	}
	took := time.Since(start)
	// Every byte was read, so it was acknowledged or soon will be.
	err = waitFor("every byte acknowledged", func() (bool, error) {
		i, err := tcpInfo(c)
		res.Info = i
		return err == nil && i.Bytes_acked >= total, err
	})
	if err != nil {
		return err
	}
	if res.ServerInfo, err = tcpInfo(s); err != nil {
		return err
	}
	i, si := res.Info, res.ServerInfo
	tl.Send("client", "server", "%d MiB in %s", total>>20, timeline.Ms(took))
	tl.Printf("client (sender) TCP_INFO:")
	tl.Printf("  state          %s", kernel.TCPState(i.State))
	tl.Printf("  rtt            %dµs (variance %dµs, min %dµs)", i.Rtt, i.Rttvar, i.Min_rtt)
	tl.Printf("  cwnd           %d segments of %d bytes (mss), ssthresh %d",
		i.Snd_cwnd, i.Snd_mss, i.Snd_ssthresh)
	tl.Printf("  retransmits    %d in total, %d bytes", i.Total_retrans, i.Bytes_retrans)
	tl.Printf("  bytes acked    %d (the SYN counts as one)", i.Bytes_acked)
	tl.Printf("  segments out   %d (%d with data)", i.Segs_out, i.Data_segs_out)
	tl.Printf("  delivery rate  %.1f MB/s, pacing rate %.1f MB/s",
		float64(i.Delivery_rate)/1e6, float64(i.Pacing_rate)/1e6)
	tl.Printf("  rto            %dms, path MTU %d", i.Rto/1000, i.Pmtu)
	tl.Printf("server (receiver) TCP_INFO:")
	tl.Printf("  bytes received %d, segments in %d, rcv rtt %dµs, rcv space %d",
		si.Bytes_received, si.Segs_in, si.Rcv_rtt, si.Rcv_space)
	return nil
}

// closes shows the three ways a connection ends and what the peer sees.
func closes(tl *timeline.Timeline, res *result) error {
	tl.Printf("")
	tl.Printf("== FIN versus RST ==")
	for _, how := range []string{"close", "close with SO_LINGER 0", "close with unread data"} {
		cc, err := closeOne(how)
		if err != nil {
			return fmt.Errorf("%s: %w", how, err)
		}
		res.Closes = append(res.Closes, cc)
		peer := "EOF"
		if cc.PeerErr != io.EOF {
			peer = cc.PeerErr.Error()
		}
		tl.Note("server", "%s", how)
		tl.Note("client", "read: %s; its socket: %s", peer, orNone(cc.PeerState))
		tl.Note("server", "after both closed, its socket: %s", orNone(cc.CloserState))
	}
	return nil
}

func orNone(state string) string {
	if state == "" {
		return "gone, no TIME_WAIT"
	}
	return state
}

func closeOne(how string) (closeCase, error) {
	cc := closeCase{How: how}
	c, s, err := pair()
	if err != nil {
		return cc, err
	}
	defer c.Close()
	defer s.Close()
	local, remote := addrPort(s.LocalAddr()), addrPort(s.RemoteAddr())
	switch how {
	case "close with SO_LINGER 0":
		// An abortive close: RST instead of FIN, no TIME_WAIT.
		if err := s.(*net.TCPConn).SetLinger(0); err != nil {
			return cc, err
		}
	case "close with unread data":
		// RFC 9293 3.6.1 / RFC 2525: closing with data unread resets.
		if _, err := io.WriteString(c, "unread"); err != nil {
			return cc, err
		}
		if err := waitQueued(s, len("unread")); err != nil {
			return cc, err
		}
	}
	if err := s.Close(); err != nil {
		return cc, err
	}
	_, cc.PeerErr = c.Read(make([]byte, 16))
	if cc.PeerState, err = socketState(addrPort(c.LocalAddr()),
		addrPort(c.RemoteAddr())); err != nil {
		return cc, err
	}
	c.Close()
	if errors.Is(cc.PeerErr, syscall.ECONNRESET) {
		// Nothing more will change: an RST removes the socket at once.
		cc.CloserState, err = socketState(local, remote)
		return cc, err
	}
	err = waitFor("TIME_WAIT", func() (bool, error) {
		st, err := socketState(local, remote)
		cc.CloserState = st
		return st == "TIME_WAIT", err
	})
	return cc, err
}

// halfClosed: the client shuts down its sending side and keeps reading;
// the server reads to EOF and keeps writing.
func halfClosed(tl *timeline.Timeline, res *result) error {
	tl.Printf("")
	tl.Printf("== half-close: CloseWrite sends FIN, the other direction stays open ==")
	c, s, err := pair()
	if err != nil {
		return err
	}
	defer c.Close()
	defer s.Close()
	hc := &res.HalfClose
	hc.Request = "all of my request"
	if _, err := io.WriteString(c, hc.Request); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	tl.Send("client", "server", "%q, then FIN (CloseWrite)", hc.Request)
	_, hc.WriteErr = io.WriteString(c, "more")
	tl.Note("client", "writing after CloseWrite: %v", hc.WriteErr)
	got, err := io.ReadAll(s)
	if err != nil {
		return err
	}
	hc.ServerEOF = string(got) == hc.Request
	tl.Note("server", "read %q, then EOF: the request is complete", got)
	for i := 1; i <= 3; i++ {
		if _, err := fmt.Fprintf(s, "reply part %d\n", i); err != nil {
			return err
		}
		tl.Send("server", "client", "reply part %d", i)
	}
	s.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	hc.Replies = string(b)
	tl.Note("client", "read %d bytes after its own FIN, then EOF", len(b))
	return nil
}
