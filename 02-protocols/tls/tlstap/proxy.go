package tlstap

import (
	"errors"
	"io"
	"net"
	"sync"
)

// Event is a record the proxy saw, with the connection it belongs to
// (numbered from 1 in accept order).
type Event struct {
	Conn   int
	From   Side
	Record Record
}

// Proxy accepts TCP connections, relays each to a target and decodes the
// TLS records that pass. It reports each record before it forwards the
// bytes that complete it, so the reports are in causal order: a reply is
// never reported before the record it answers.
type Proxy struct {
	ln       net.Listener
	target   string
	onRecord func(Event)

	mu    sync.Mutex // serialises decoding and onRecord
	n     int
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Listen starts a proxy on addr that relays to target and calls onRecord
// for every record, one call at a time. Bytes that are not TLS stop the
// decoding of that connection; it is still relayed.
func Listen(addr, target string, onRecord func(Event)) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, onRecord: onRecord,
		conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is where clients connect.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.mu.Lock()
		p.n++
		id := p.n
		p.mu.Unlock()
		p.wg.Go(func() { p.relay(id, c) })
	}
}

func (p *Proxy) relay(id int, client net.Conn) {
	if !p.track(client) {
		client.Close()
		return
	}
	defer p.untrack(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		server.Close()
		return
	}
	defer p.untrack(server)
	dec := &Decoder{}
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(id, dec, Client, server, client) })
	p.pipe(id, dec, Server, client, server)
	wg.Wait()
}

// pipe copies src to dst, decoding as it goes, and half-closes dst at the
// end of src.
func (p *Proxy) pipe(id int, dec *Decoder, from Side, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			recs, _ := dec.Feed(from, buf[:n])
			for _, r := range recs {
				if p.onRecord != nil {
					p.onRecord(Event{Conn: id, From: from, Record: r})
				}
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				dst.Close()
				return
			}
		}
		if err != nil {
			if tc, ok := dst.(*net.TCPConn); ok && errors.Is(err, io.EOF) {
				tc.CloseWrite()
				return
			}
			src.Close()
			dst.Close()
			return
		}
	}
}

// Close stops the proxy, closes every relayed connection and waits.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
	return err
}
