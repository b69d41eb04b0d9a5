package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/02-protocols/tls/tlstap"
	"backend-protocols/internal/netem"
)

// watch is a tap in front of a server, optionally behind a delay link:
//
//	client -> tap (decodes records) -> delay relay -> server
type watch struct {
	tap   *tlstap.Proxy
	relay *netem.TCPRelay

	mu     sync.Mutex
	events map[int][]seenRecord
	seen   map[int]*[2]int // bytes of whole records, per side
}

// seenRecord is a record and when the tap decoded it.
type seenRecord struct {
	tlstap.Event
	At time.Time
}

func newWatch(target string, oneWay time.Duration) (*watch, error) {
	w := &watch{events: make(map[int][]seenRecord), seen: make(map[int]*[2]int)}
	if oneWay > 0 {
		r, err := netem.NewTCPRelay("127.0.0.1:0", target,
			netem.Path{Delay: oneWay}, netem.Path{Delay: oneWay})
		if err != nil {
			return nil, err
		}
		w.relay, target = r, r.Addr().String()
	}
	tap, err := tlstap.Listen("127.0.0.1:0", target, w.record)
	if err != nil {
		w.Close()
		return nil, err
	}
	w.tap = tap
	return w, nil
}

func (w *watch) record(e tlstap.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events[e.Conn] = append(w.events[e.Conn], seenRecord{e, time.Now()})
	if w.seen[e.Conn] == nil {
		w.seen[e.Conn] = new([2]int)
	}
	w.seen[e.Conn][e.From] += tlstap.HeaderLen + e.Record.Length
}

// Addr is where clients connect.
func (w *watch) Addr() string { return w.tap.Addr() }

// Conn returns the records of the n-th connection (from 1) so far.
func (w *watch) Conn(n int) []seenRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]seenRecord(nil), w.events[n]...)
}

// waitSeen waits until the tap has decoded the bytes each side wrote on
// connection n: then its record list is complete up to that point.
func (w *watch) waitSeen(n int, client, server int64) error {
	deadline := time.Now().Add(ioTimeout)
	for {
		w.mu.Lock()
		s := w.seen[n]
		done := s != nil && int64(s[0]) >= client && int64(s[1]) >= server
		w.mu.Unlock()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("tap saw %v of %d/%d bytes", s, client, server)
		}
		time.Sleep(time.Millisecond)
	}
}

func (w *watch) Close() {
	if w.tap != nil {
		w.tap.Close()
	}
	if w.relay != nil {
		w.relay.Close()
	}
}

// countingConn counts the bytes written to the socket under a tls.Conn.
type countingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// served is what the server side saw of one connection's handshake.
type served struct {
	State   tls.ConnectionState
	Err     error // the server's handshake error
	Written int64 // bytes the server wrote during its handshake
}

// server accepts TLS connections, hands each one's handshake outcome to
// its results channel, and answers "ping" with "pong".
type server struct {
	ln      net.Listener
	results chan served
	wg      sync.WaitGroup
}

func startServer(cfg *tls.Config) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{ln: ln, results: make(chan served, 16)}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.handle(c, cfg) })
		}
	})
	return s, nil
}

func (s *server) handle(raw net.Conn, cfg *tls.Config) {
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(ioTimeout))
	cc := &countingConn{Conn: raw}
	c := tls.Server(cc, cfg)
	err := c.Handshake()
	select {
	case s.results <- served{State: c.ConnectionState(), Err: err,
		Written: cc.n.Load()}:
	default:
	}
	if err == nil {
		buf := make([]byte, 4)
		_, err := io.ReadFull(c, buf)
		if err == nil && string(buf) == "ping" {
			c.Write([]byte("pong"))
		}
	}
	c.Close()
}

// next returns the outcome of the next connection.
func (s *server) next() (served, error) {
	select {
	case r := <-s.results:
		return r, nil
	case <-time.After(ioTimeout):
		return served{}, fmt.Errorf("no connection reached the server")
	}
}

func (s *server) Addr() string { return s.ln.Addr().String() }

func (s *server) Close() {
	s.ln.Close()
	s.wg.Wait()
}
