package lab

import (
	"net"
	"sync"
	"time"

	"backend-protocols/03-https/internal/wire"
)

// maxPackets bounds a lab's capture; a demo sends a few hundred packets.
const maxPackets = 10000

// capture records what crosses the path, with the time it was sent.
type capture struct {
	mu    sync.Mutex
	start time.Time
	pkts  []wire.Packet
	lost  int // packets not kept because the capture was full
}

func newCapture() *capture { return &capture{start: time.Now()} }

// since returns the time since the capture began.
func (c *capture) since(t time.Time) time.Duration { return t.Sub(c.start) }

func (c *capture) add(p wire.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pkts) >= maxPackets {
		c.lost++
		return
	}
	c.pkts = append(c.pkts, p)
}

// tap is the link's Hop.Tap: it keeps a copy of every packet.
func (c *capture) tap(up bool, pkt []byte, dropped bool) {
	c.add(wire.Packet{At: time.Since(c.start), Up: up, Dropped: dropped,
		Data: append([]byte(nil), pkt...)})
}

// write records what one write put on a loopback socket.
func (c *capture) write(up bool, proto string, b []byte) {
	c.add(wire.Packet{At: time.Since(c.start), Up: up, Proto: proto,
		Data: append([]byte(nil), b...)})
}

// window returns the packets sent between from and to (since the capture
// began) for which keep reports true.
func (c *capture) window(from, to time.Duration, keep func(wire.Packet) bool) []wire.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []wire.Packet
	for _, p := range c.pkts {
		if p.At >= from && p.At <= to && keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// tcpConn records the writes of one side of a loopback TCP connection.
type tcpConn struct {
	net.Conn
	c  *capture
	up bool
}

func (t *tcpConn) Write(b []byte) (int, error) {
	n, err := t.Conn.Write(b)
	if n > 0 {
		t.c.write(t.up, "tcp", b[:n])
	}
	return n, err
}

// CloseWrite half-closes the connection, as *net.TCPConn does.
func (t *tcpConn) CloseWrite() error {
	if cw, ok := t.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
