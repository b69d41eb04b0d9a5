package rawnet

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// conn is one connection's state, touched only by its loop's thread.
type conn struct {
	fd     int
	in     []byte // bytes read and not yet parsed
	out    []byte // response bytes; out[off:] not yet written
	off    int
	queue  []*slot // answers owed, oldest first (async handlers)
	events uint32  // the epoll interest set now
	need   int     // bytes the request in "in" needs before parsing again
	// closing: answer what is owed, write it, then close (Connection:
	// close, a refused request, or the client's end of stream).
	closing bool
	closed  bool
}

// slot is an answer owed to a connection, filled by an async reply.
type slot struct {
	resp    Response
	head    bool // the request was HEAD
	closing bool // close after this response
	ready   bool
}

// serve handles epoll events for c.
func (l *Loop) serve(c *conn, events uint32) {
	switch {
	case events&unix.EPOLLERR != 0,
		events&unix.EPOLLHUP != 0 && c.closing:
		l.closeConn(c) // reset, or gone while we wait: nobody to answer
	case events&(unix.EPOLLIN|unix.EPOLLHUP) != 0 && !c.closing:
		l.read(c)
	default:
		l.finish(c) // writable: write what is left
	}
}

// read reads what the socket has, answers every complete request in it,
// and writes the answers.
func (l *Loop) read(c *conn) {
	n, err := readFD(c.fd, l.scratch)
	switch {
	case errors.Is(err, unix.EAGAIN):
		return
	case err != nil:
		l.closeConn(c) // ECONNRESET and friends: nothing to answer
		return
	case n == 0:
		// End of stream: answer what was asked, then close.
		c.closing = true
		c.in = nil
		l.finish(c)
		return
	}
	buf := l.scratch[:n]
	if len(c.in) > 0 {
		c.in = append(c.in, buf...)
		buf = c.in
	}
	if len(buf) < c.need {
		// A body still arriving: its head was parsed once already.
		if len(c.in) == 0 {
			c.in = append(c.in, buf...)
		}
		return
	}
	used := l.parse(c, buf)
	rest := buf[used:]
	if c.closing || len(rest) == 0 {
		c.in = c.in[:0]
	} else {
		// Keep the unparsed tail; copy it out of the scratch buffer.
		c.in = append(c.in[:0], rest...)
	}
	l.finish(c)
}

// parse answers the complete requests at the start of b and returns how
// many bytes they used.
func (l *Loop) parse(c *conn, b []byte) int {
	used := 0
	for !c.closing && len(c.queue) < maxPending && c.unsent() < maxOut {
		req, n, err := ParseRequest(b[used:])
		if errors.Is(err, ErrIncomplete) {
			c.need = n // relative to what stays in c.in, which starts here
			break
		}
		c.need = 0
		if err != nil {
			var pe *ParseError
			errors.As(err, &pe)
			l.stats.errors.Add(1)
			resp := Text(pe.Status, pe.Reason+"\n")
			l.answer(c, &slot{resp: resp, closing: true, ready: true})
			c.closing = true
			break
		}
		used += n
		l.stats.requests.Add(1)
		s := &slot{head: req.Method == "HEAD", closing: req.Close}
		if req.Close {
			c.closing = true
		}
		if l.cfg.Handler != nil {
			s.resp = l.cfg.Handler(req)
			s.ready = true
			l.answer(c, s)
			continue
		}
		c.queue = append(c.queue, s)
		l.cfg.Async(req, func(r Response) {
			l.post(func() {
				s.resp, s.ready = r, true
				if !c.closed {
					l.answer(c, nil)
					l.finish(c)
				}
			})
		})
	}
	return used
}

// answer appends s (if any) to c's queue and moves every ready answer at
// its head to the output buffer, in request order.
func (l *Loop) answer(c *conn, s *slot) {
	if s != nil {
		if len(c.queue) == 0 {
			c.out = l.appendSlot(c.out, s)
			return
		}
		c.queue = append(c.queue, s)
	}
	i := 0
	for ; i < len(c.queue) && c.queue[i].ready; i++ {
		c.out = l.appendSlot(c.out, c.queue[i])
	}
	c.queue = c.queue[i:]
}

func (l *Loop) appendSlot(dst []byte, s *slot) []byte {
	return AppendResponse(dst, &s.resp, l.clock.Date(time.Now()), s.head,
		s.closing)
}

// unsent returns how many response bytes wait to be written.
func (c *conn) unsent() int { return len(c.out) - c.off }

// finish writes what is buffered and sets the epoll interest: read while
// there is room, write while output waits, close when all is done.
func (l *Loop) finish(c *conn) {
	if c.unsent() > 0 && !l.flush(c) {
		return
	}
	if c.closing && len(c.queue) == 0 && c.unsent() == 0 {
		l.closeConn(c)
		return
	}
	want := uint32(0)
	if !c.closing && len(c.queue) < maxPending && c.unsent() < maxOut {
		want |= unix.EPOLLIN
	}
	if c.unsent() > 0 {
		want |= unix.EPOLLOUT
	}
	if want != c.events {
		ev := unix.EpollEvent{Events: want, Fd: int32(c.fd)}
		if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
			l.closeConn(c)
			return
		}
		c.events = want
	}
}

// flush writes the unsent output until it is all written or the socket's
// send buffer is full. Once it is all written, requests that were left
// unparsed while output backed up are answered. It returns false if it
// closed c.
func (l *Loop) flush(c *conn) bool {
	for c.unsent() > 0 {
		n, err := writeFD(c.fd, c.out[c.off:])
		if errors.Is(err, unix.EAGAIN) {
			return true
		}
		if err != nil {
			l.closeConn(c) // EPIPE, ECONNRESET: the client is gone
			return false
		}
		c.off += n
	}
	c.out, c.off = c.out[:0], 0
	if cap(c.out) > maxOut {
		c.out = nil // do not keep a burst's buffer for the idle time
	}
	if len(c.in) > 0 && !c.closing {
		used := l.parse(c, c.in)
		if used > 0 {
			c.in = append(c.in[:0], c.in[used:]...)
			l.finish(c)
			return !c.closed
		}
	}
	return true
}

// readFD and writeFD retry on EINTR.
func readFD(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

func writeFD(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Write(fd, b)
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}
