package main

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"backend-protocols/05-proxying/l4-lb/clienthello"
	"backend-protocols/05-proxying/lb"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// balancer is a layer-4 load balancer: it picks a backend once per TCP
// connection and relays bytes it never parses. With byName set it also
// reads the TLS ClientHello, the one thing in a TLS stream it can read,
// and routes on the server name; the bytes it read go to the backend
// first, untouched, and the TLS session stays between client and backend.
type balancer struct {
	name string
	pool *lb.Pool // every connection, or those no byName route matches
	// byName, if set, routes TLS connections on their server name.
	byName map[string]*lb.Pool
	copy   lb.Copier // nil: lb.KernelCopy (splice)
	tl     *timeline.Timeline
	// verbose prints a line per connection; scenarios that open a hundred
	// print totals instead.
	verbose bool
	// helloWait bounds the wait for a ClientHello; helloTimeout if zero.
	helloWait time.Duration

	// onOpen and onClose, if set, hear of each connection relayed to a
	// backend, when it opens and once it has closed both ways.
	onOpen, onClose func(*lb.Target)

	accepted    atomic.Int64 // client connections
	failedDials atomic.Int64 // backends that refused, tried elsewhere
}

// helloTimeout bounds how long a client may take to send its ClientHello:
// a router that waits for ever can be held by idle sockets.
const helloTimeout = 5 * time.Second

var dialer = net.Dialer{Timeout: 2 * time.Second}

// serve runs the balancer on ln until ctx is done.
func (b *balancer) serve(ctx context.Context, ln net.Listener) error {
	return demo.ServeConns(ctx, ln, func(c net.Conn) { b.handle(ctx, c) })
}

func (b *balancer) handle(ctx context.Context, c net.Conn) {
	b.accepted.Add(1)
	client := c.RemoteAddr().String()
	pool, how := b.pool, ""
	var first []byte
	if b.byName != nil {
		wait := b.helloWait
		if wait == 0 {
			wait = helloTimeout
		}
		c.SetReadDeadline(time.Now().Add(wait))
		h, raw, err := clienthello.Read(c)
		c.SetReadDeadline(time.Time{})
		if err != nil {
			b.tl.Note(b.name, "%s: no ClientHello (%v): closing", client, err)
			lingerClose(c)
			return
		}
		if p := b.byName[strings.ToLower(h.ServerName)]; p != nil {
			pool, how = p, "by server name"
		}
		if pool == nil {
			b.tl.Note(b.name, "%s: %v: no such name here, alert unrecognized_name", client, h)
			c.Write(clienthello.Alert(clienthello.UnrecognizedName))
			lingerClose(c)
			return
		}
		if b.verbose {
			b.tl.Send("client", b.name, "ClientHello %d bytes: %v", len(raw), h)
		}
		first = raw
	}
	if how == "" {
		how = pool.Policy.String()
	}
	var tried []*lb.Target
	for {
		t, release, err := pool.Pick(tried...)
		if err != nil {
			b.tl.Note(b.name, "%s: %v: closing", client, err)
			return
		}
		up, err := dialer.DialContext(ctx, "tcp", t.Addr)
		if err != nil {
			release()
			b.failedDials.Add(1)
			tried = append(tried, t)
			if b.verbose {
				b.tl.Note(b.name, "dial %s failed (%v): trying another", t, shortErr(err))
			}
			continue
		}
		if b.verbose {
			b.tl.Note(b.name, "%s -> %s (%s; %d open there)", client, t, how, t.Active())
		}
		if len(first) > 0 {
			if _, err := up.Write(first); err != nil {
				up.Close()
				release()
				return
			}
		}
		if b.onOpen != nil {
			b.onOpen(t)
		}
		tr, err := lb.Relay(ctx, c, up, b.copy)
		release()
		if b.onClose != nil {
			b.onClose(t)
		}
		if b.verbose {
			b.tl.Note(b.name, "%s closed: %d bytes up, %d down%s", client,
				tr.AtoB+int64(len(first)), tr.BtoA, errNote(err))
		}
		return
	}
}

// lingerClose sends FIN and reads (for a moment, a bounded amount) what
// the client still sends before closing. Closing a socket with unread
// bytes makes the kernel answer with RST, which can destroy the alert we
// just sent before the client reads it.
func lingerClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// shortErr drops the "dial tcp 127.0.0.1:1234: connect: " prefix.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

func errNote(err error) string {
	if err == nil || errors.Is(err, context.Canceled) {
		return ""
	}
	return " (" + shortErr(err) + ")"
}
