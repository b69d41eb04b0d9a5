package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"

	"golang.org/x/sys/unix"
)

// result is what the scenario saw, for the test.
type result struct {
	ListenFD, ConnFD, ClientFD int
	Threads                    [3]int // listener, acceptor, reader
	QueueBeforeAccept          int    // accept queue as /proc/net/tcp shows it
	QueueAfterAccept           int
	Waiting                    int // SIOCINQ on the accepted fd before read
	RequestBytes               int
	Answer                     string // what the client read
}

// waitQueue polls the accept queue until it is want (the kernel finishes
// the handshake a moment after connect returns).
func waitQueue(addr netip.AddrPort, want int) (int, error) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		q, _, err := kernel.AcceptQueue(addr, 0)
		if err != nil || q == want || time.Now().After(deadline) {
			return q, err
		}
		time.Sleep(time.Millisecond)
	}
}

func scenario(ctx context.Context, tl *timeline.Timeline) (res result, err error) {
	res.ListenFD, res.ConnFD, res.ClientFD = -1, -1, -1
	defer func() {
		for _, fd := range []int{res.ClientFD, res.ConnFD, res.ListenFD} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}()
	var addr netip.AddrPort
	if err := <-onThread(func(tid int) error {
		res.Threads[0] = tid
		res.ListenFD, addr, err = listen(tl, tid, "127.0.0.1:0")
		return err
	}); err != nil {
		return res, err
	}
	q, _, err := kernel.AcceptQueue(addr, 0)
	if err != nil {
		return res, err
	}
	tl.Note("kernel", "/proc/net/tcp: %s LISTEN, accept queue %d", addr, q)

	res.ClientFD, err = rawnet.Connect(addr.String(), rawnet.DialConfig{})
	if err == nil {
		err = rawnet.WaitConnected(res.ClientFD, 5*time.Second)
	}
	if err != nil {
		return res, fmt.Errorf("connect: %w", err)
	}
	tl.Send("client", "kernel", "connect() = fd %d: SYN, SYN-ACK, ACK; no accept yet",
		res.ClientFD)
	if res.QueueBeforeAccept, err = waitQueue(addr, 1); err != nil {
		return res, err
	}
	tl.Note("kernel", "accept queue %d: the handshake is done, the connection waits",
		res.QueueBeforeAccept)
	req := fmt.Appendf(nil, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr)
	if err := writeAll(res.ClientFD, req); err != nil {
		return res, err
	}
	res.RequestBytes = len(req)
	tl.Send("client", "kernel", "write(%d) = %d bytes, still before any accept",
		res.ClientFD, len(req))

	if err := <-onThread(func(tid int) error {
		res.Threads[1] = tid
		res.ConnFD, err = accept(tl, tid, res.ListenFD)
		return err
	}); err != nil {
		return res, err
	}
	if res.QueueAfterAccept, err = waitQueue(addr, 0); err != nil {
		return res, err
	}
	tl.Note("kernel", "accept queue %d", res.QueueAfterAccept)
	if res.Waiting, err = kernel.InQueue(res.ConnFD); err != nil {
		return res, err
	}

	cfd := res.ConnFD
	if err := <-onThread(func(tid int) error {
		res.Threads[2] = tid
		_, err := read(tl, tid, cfd, servers.App("listener-acceptor-reader"))
		if err != nil {
			return err
		}
		res.ConnFD = -1
		tl.Note(fmt.Sprintf("reader[%d]", tid), "close(%d)", cfd)
		return unix.Close(cfd)
	}); err != nil {
		return res, err
	}

	answer, err := readToEOF(res.ClientFD)
	if err != nil {
		return res, err
	}
	res.Answer = string(answer)
	tl.Note("client", "read(%d) = %d bytes, then 0: the server closed", res.ClientFD, len(answer))
	tl.Dump("the answer", answer)
	lfd := res.ListenFD
	tl.Note(fmt.Sprintf("listener[%d]", res.Threads[0]), "close(%d)", lfd)
	unix.Close(lfd)
	res.ListenFD = -1
	tl.Printf("")
	tl.Printf("listener thread %d made fd %d; acceptor thread %d took fd %d off its queue;",
		res.Threads[0], lfd, res.Threads[1], cfd)
	tl.Printf("reader thread %d read %d bytes the kernel had held since before the accept.",
		res.Threads[2], res.Waiting)
	return res, nil
}

// readToEOF reads a blocking descriptor until the peer closes.
func readToEOF(fd int) ([]byte, error) {
	if err := rawnet.WaitFD(fd, unix.POLLIN, 5*time.Second); err != nil {
		return nil, err
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			if err := rawnet.WaitFD(fd, unix.POLLIN, 5*time.Second); err != nil {
				return out, err
			}
			continue
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return out, err
		case n == 0:
			return out, nil
		}
		out = append(out, buf[:n]...)
		if len(out) > 1<<20 {
			return out, io.ErrShortBuffer
		}
	}
}
