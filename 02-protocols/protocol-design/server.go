package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"backend-protocols/02-protocols/protocol-design/kv"
	"backend-protocols/internal/timeline"
)

// maxConns bounds the connections a server holds; later ones are closed.
const maxConns = 1000

// server accepts connections and speaks kv on each: binary frames, or
// JSON lines if the first byte is '{'. A binary frame starts with its
// version, 1 or 2, so the two can never be confused.
type server struct {
	ln    net.Listener
	kv    *kv.Server
	name  string
	tl    *timeline.Timeline
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func startServer(addr, name string, maxVersion uint8, st *store,
	tl *timeline.Timeline) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &server{ln: ln, name: name, tl: tl, conns: make(map[net.Conn]struct{}),
		kv: &kv.Server{Handler: st.handle, MaxVersion: maxVersion}}
	s.wg.Go(s.accept)
	return s, nil
}

func (s *server) Addr() string { return s.ln.Addr().String() }

func (s *server) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		full := s.conns == nil || len(s.conns) >= maxConns
		if !full {
			s.conns[c] = struct{}{}
		}
		s.mu.Unlock()
		if full {
			c.Close()
			continue
		}
		s.wg.Go(func() { s.serveConn(c) })
	}
}

func (s *server) serveConn(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReader(c)
	first, err := r.Peek(1)
	if err != nil {
		return
	}
	codec, kind := kv.NewBinaryCodec(r, c), "binary"
	if first[0] == '{' {
		codec, kind = kv.NewTextCodec(r, c), "JSON lines"
	}
	s.tl.Note(s.name, "%s speaks %s", c.RemoteAddr(), kind)
	if err := s.kv.Serve(context.Background(), codec); err != nil &&
		!errors.Is(err, net.ErrClosed) {
		s.tl.Note(s.name, "%s: %v", c.RemoteAddr(), err)
	}
}

// Close stops accepting, closes every connection and waits for them.
func (s *server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.conns = nil
	s.mu.Unlock()
	s.wg.Wait()
}

// serve runs a v2 server on addr until ctx is done.
func serve(ctx context.Context, addr string, tl *timeline.Timeline,
	cold time.Duration) error {
	s, err := startServer(addr, "server", kv.MaxVersion, newStore(cold), tl)
	if err != nil {
		return err
	}
	<-ctx.Done()
	s.Close()
	return nil
}
