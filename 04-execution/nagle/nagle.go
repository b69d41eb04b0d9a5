package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"

	"golang.org/x/sys/unix"
)

// peer answers every header+body message with "ok", and only once it has
// the whole message, as a server that parses a request does.
type peer struct {
	ln  net.Listener
	wg  sync.WaitGroup
	mu  sync.Mutex
	ato []time.Duration // the delayed-ACK timeout of each connection, at its end
}

func startPeer(addr string, msg int) (*peer, error) {
	ln, err := demo.Listen(addr)
	if err != nil {
		return nil, err
	}
	p := &peer{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			p.wg.Go(func() { p.serve(c.(*net.TCPConn), msg) })
		}
	})
	return p, nil
}

func (p *peer) serve(c *net.TCPConn, msg int) {
	defer c.Close()
	buf := make([]byte, msg)
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			break
		}
		if _, err := c.Write([]byte("ok")); err != nil {
			break
		}
		var ato time.Duration
		withFD(c, func(fd int) {
			if ti, err := kernel.TCPInfo(fd); err == nil {
				ato = time.Duration(ti.Ato) * time.Microsecond
			}
		})
		p.mu.Lock()
		p.ato = append(p.ato, ato)
		p.mu.Unlock()
	}
}

// ATO returns the largest delayed-ACK timeout the peer's kernel reported.
func (p *peer) ATO() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var m time.Duration
	for _, d := range p.ato {
		m = max(m, d)
	}
	return m
}

func (p *peer) Close() {
	p.ln.Close()
	p.wg.Wait()
}

// withFD runs f with the connection's descriptor.
func withFD(c *net.TCPConn, f func(fd int)) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { f(int(fd)) })
}

// style is one way to send a message.
type style struct {
	Name  string
	Nagle bool // leave Nagle's algorithm on (SetNoDelay(false))
	Send  func(c *net.TCPConn, header, body []byte) error
}

var styles = []style{
	{"Nagle on, write header, write body", true, writeTwice},
	{"TCP_NODELAY, write header, write body", false, writeTwice},
	{"Nagle on, one write per message", true, writeOnce},
	{"Nagle on, TCP_CORK around two writes", true, writeCorked},
}

func writeTwice(c *net.TCPConn, header, body []byte) error {
	if _, err := c.Write(header); err != nil {
		return err
	}
	_, err := c.Write(body)
	return err
}

// writeOnce gathers the parts into one write: net.Buffers is writev(2).
func writeOnce(c *net.TCPConn, header, body []byte) error {
	b := net.Buffers{header, body}
	_, err := b.WriteTo(c)
	return err
}

// writeCorked holds partial segments while corked and sends them when
// uncorked (tcp(7), TCP_CORK).
func writeCorked(c *net.TCPConn, header, body []byte) error {
	if err := cork(c, 1); err != nil {
		return err
	}
	if err := writeTwice(c, header, body); err != nil {
		return err
	}
	return cork(c, 0)
}

func cork(c *net.TCPConn, on int) error {
	var serr error
	err := withFD(c, func(fd int) {
		serr = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_CORK, on)
	})
	return errors.Join(err, serr)
}

// row is what one style measured.
type row struct {
	Style    string
	Each     []time.Duration
	Latency  timing.Summary
	Segments float64 // data segments the client sent per exchange
}

// exchange runs n exchanges in style s on a new connection to addr.
func exchange(ctx context.Context, addr string, s style, cfg config) (row, error) {
	r := row{Style: s.Name}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return r, err
	}
	c := nc.(*net.TCPConn)
	defer c.Close()
	if err := c.SetNoDelay(!s.Nagle); err != nil {
		return r, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	header, body := make([]byte, cfg.Header), make([]byte, cfg.Body)
	answer := make([]byte, 2)
	segs := func() uint32 {
		var n uint32
		withFD(c, func(fd int) {
			if ti, err := kernel.TCPInfo(fd); err == nil {
				n = ti.Data_segs_out
			}
		})
		return n
	}
	s0 := segs()
	for range cfg.Exchanges {
		start := time.Now()
		if err := s.Send(c, header, body); err != nil {
			return r, err
		}
		if _, err := io.ReadFull(c, answer); err != nil {
			return r, err
		}
		r.Each = append(r.Each, time.Since(start))
	}
	r.Segments = float64(segs()-s0) / float64(cfg.Exchanges)
	r.Latency = timing.Summarize(r.Each)
	return r, nil
}

type result struct {
	Rows []row
	ATO  time.Duration // the peer's delayed-ACK timeout
}

// run is the scenario as the demo harness calls it.
func (cfg *config) run(ctx context.Context, tl *timeline.Timeline) error {
	_, err := scenario(ctx, tl, *cfg)
	return err
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	p, err := startPeer("127.0.0.1:0", cfg.Header+cfg.Body)
	if err != nil {
		return res, err
	}
	defer p.Close()
	addr := p.ln.Addr().String()
	tl.Note("server", "on %s answers \"ok\" once it has a whole %d-byte message",
		addr, cfg.Header+cfg.Body)
	for _, s := range styles {
		r, err := exchange(ctx, addr, s, cfg)
		if err != nil {
			return res, fmt.Errorf("%s: %w", s.Name, err)
		}
		res.Rows = append(res.Rows, r)
		tl.Note("client", "%-38s %s", s.Name, r.Latency)
	}
	res.ATO = p.ATO()
	tl.Printf("")
	tl.Printf("%d exchanges of a %d-byte header and a %d-byte body:", cfg.Exchanges,
		cfg.Header, cfg.Body)
	tl.Printf("%-40s %10s %10s %14s", "client", "p50", "max", "segments each")
	for _, r := range res.Rows {
		tl.Printf("%-40s %10v %10v %14.1f", r.Style, r.Latency.P50.Round(time.Microsecond),
			r.Latency.Max.Round(time.Microsecond), r.Segments)
	}
	first := res.Rows[0].Each
	tl.Printf("Nagle on, exchange by exchange: %v", msList(first))
	tl.Printf("(a new connection starts in quickack mode: its first ACKs are not delayed)")
	tl.Printf("the server's delayed-ACK timeout (tcpi_ato): %s", timeline.Ms(res.ATO))
	return res, nil
}

func msList(ds []time.Duration) []time.Duration {
	var out []time.Duration
	for _, d := range ds {
		out = append(out, d.Round(10*time.Microsecond))
	}
	return out
}

// serve runs the peer for real clients until ctx is done.
func (cfg *config) serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	p, err := startPeer(addr, cfg.Header+cfg.Body)
	if err != nil {
		return err
	}
	tl.Note("server", "answers \"ok\" to every %d bytes; try a client that writes %d then %d",
		cfg.Header+cfg.Body, cfg.Header, cfg.Body)
	<-ctx.Done()
	p.Close()
	return nil
}
