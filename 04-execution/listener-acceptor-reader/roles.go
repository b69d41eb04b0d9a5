package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"runtime"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"

	"golang.org/x/sys/unix"
)

// backlog is the listen(2) backlog: how many connections the kernel may
// hold, handshake done, until the acceptor takes them.
const backlog = 16

// onThread runs f on a goroutine locked to its own OS thread and returns
// a channel for f's result. The goroutine never unlocks, so the thread
// ends with it and the next role gets a thread of its own.
func onThread(f func(tid int) error) <-chan error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- f(unix.Gettid())
	}()
	return errc
}

// listen is the listener's job: socket, setsockopt, bind, listen.
func listen(tl *timeline.Timeline, tid int, addr string) (int, netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return -1, ap, fmt.Errorf("want an IPv4 host:port, got %q", addr)
	}
	who := fmt.Sprintf("listener[%d]", tid)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, ap, fmt.Errorf("socket: %w", err)
	}
	tl.Note(who, "socket(AF_INET, SOCK_STREAM) = fd %d", fd)
	steps := []struct {
		call string
		do   func() error
	}{
		{fmt.Sprintf("setsockopt(%d, SO_REUSEADDR, 1)", fd), func() error {
			return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		}},
		{fmt.Sprintf("bind(%d, %s)", fd, ap), func() error {
			return unix.Bind(fd, &unix.SockaddrInet4{Port: int(ap.Port()),
				Addr: ap.Addr().As4()})
		}},
		{fmt.Sprintf("listen(%d, backlog %d)", fd, backlog), func() error {
			return unix.Listen(fd, backlog)
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			unix.Close(fd)
			return -1, ap, fmt.Errorf("%s: %w", s.call, err)
		}
		tl.Note(who, "%s", s.call)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, ap, err
	}
	bound := sa.(*unix.SockaddrInet4)
	ap = netip.AddrPortFrom(netip.AddrFrom4(bound.Addr), uint16(bound.Port))
	tl.Note(who, "getsockname(%d) = %s: listening", fd, ap)
	return fd, ap, nil
}

// accept is the acceptor's job: take one connection off the queue.
func accept(tl *timeline.Timeline, tid, lfd int) (int, error) {
	for {
		fd, sa, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
			continue
		}
		if err != nil {
			return -1, err
		}
		peer := sa.(*unix.SockaddrInet4)
		tl.Note(fmt.Sprintf("acceptor[%d]", tid), "accept4(%d) = fd %d from %s",
			lfd, fd, netip.AddrPortFrom(netip.AddrFrom4(peer.Addr), uint16(peer.Port)))
		return fd, nil
	}
}

// read is the reader's job: read bytes until they make a request, answer
// it, and read the next, until the client closes or asks to close.
// It returns the requests it answered.
func read(tl *timeline.Timeline, tid, fd int, h rawnet.Handler) ([]*rawnet.Request, error) {
	who := fmt.Sprintf("reader[%d]", tid)
	var (
		reqs  []*rawnet.Request
		buf   []byte
		chunk = make([]byte, 4096)
		clock rawnet.Clock
	)
	for {
		if n, err := kernel.InQueue(fd); err == nil && n > 0 {
			tl.Note(who, "ioctl(%d, SIOCINQ) = %d bytes waiting in the kernel", fd, n)
		}
		n, err := unix.Read(fd, chunk)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return reqs, fmt.Errorf("read(%d): %w", fd, err)
		}
		tl.Note(who, "read(%d) = %d bytes", fd, n)
		if n == 0 {
			return reqs, nil // the client closed its side
		}
		buf = append(buf, chunk[:n]...)
		for {
			req, used, err := rawnet.ParseRequest(buf)
			if errors.Is(err, rawnet.ErrIncomplete) {
				break
			}
			var resp rawnet.Response
			closing := true
			var pe *rawnet.ParseError
			if errors.As(err, &pe) {
				resp = rawnet.Text(pe.Status, pe.Reason+"\n")
			} else {
				buf = buf[used:]
				reqs = append(reqs, req)
				tl.Send("client", who, "%s %s", req.Method, req.Target)
				resp = h(req)
				closing = req.Close
			}
			out := rawnet.AppendResponse(nil, &resp, clock.Date(time.Now()),
				req != nil && req.Method == "HEAD", closing)
			if err := writeAll(fd, out); err != nil {
				return reqs, err
			}
			tl.Send(who, "client", "%d %s (write(%d) = %d bytes)", resp.Status,
				http.StatusText(resp.Status), fd, len(out))
			if closing {
				return reqs, nil
			}
		}
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("write(%d): %w", fd, err)
		}
		b = b[n:]
	}
	return nil
}
