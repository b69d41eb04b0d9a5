package main

import (
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"backend-protocols/02-protocols/websockets/ws"
)

// hub is the chat: every message a client sends is pushed to every
// connected client, the sender included, as the course's Node server does.
// Unlike that server, a client that leaves leaves the broadcast list, and
// each client has a bounded send queue drained by its own writer, so a
// client that cannot keep up is dropped instead of slowing the others.
type hub struct {
	queue  int                     // messages a client's queue holds
	sndbuf int                     // SO_SNDBUF per client socket; 0: the kernel's
	events func(kind, text string) // join, says, left, dropped; may be nil

	mu      sync.Mutex
	clients map[*member]bool
	closed  bool
	wg      sync.WaitGroup
	dropped int

	droppedNames []string
}

// member is one connected client.
type member struct {
	name string
	conn *ws.Conn
	send chan []byte // bounded: a full queue means a slow client
}

func newHub(queue, sndbuf int, events func(kind, text string)) *hub {
	if events == nil {
		events = func(string, string) {}
	}
	return &hub{queue: queue, sndbuf: sndbuf, events: events,
		clients: map[*member]bool{}}
}

// name is what the course calls a client: "User" and its port.
func name(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return "User" + strconv.Itoa(ta.Port)
	}
	return "User" + addr.String()
}

// serve runs one client until it leaves, is dropped or the hub closes:
// it announces the client, then reads its messages and pushes each to
// everyone.
func (h *hub) serve(c *ws.Conn) {
	m := &member{name: name(c.RemoteAddr()), conn: c,
		send: make(chan []byte, h.queue)}
	if tc, ok := c.NetConn().(*net.TCPConn); ok && h.sndbuf > 0 {
		// A fixed, small socket buffer: chat messages are small, memory
		// per client stays low, and a stalled client shows sooner.
		tc.SetWriteBuffer(h.sndbuf)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		c.Close(ws.CloseGoingAway, "server shutting down")
		return
	}
	h.clients[m] = true
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.write(m)
	}()
	h.broadcast(m.name+" just connected.", "join")
	for {
		typ, msg, err := c.ReadMessage()
		if err != nil {
			break
		}
		if typ != ws.OpText {
			c.Close(ws.CloseUnsupportedData, "this chat takes text")
			break
		}
		h.broadcast(m.name+" says: "+string(msg), "says")
	}
	if h.remove(m) {
		h.broadcast(m.name+" left.", "left")
	}
	<-writerDone
	c.NetConn().Close()
}

// write drains a client's queue onto its connection, one message at a
// time; it ends when the queue is closed or a write fails.
func (h *hub) write(m *member) {
	for msg := range m.send {
		if err := m.conn.WriteMessage(ws.OpText, msg); err != nil {
			// Stuck or gone: its reader will see the closed connection.
			m.conn.NetConn().Close()
			for range m.send {
			}
			return
		}
	}
}

// broadcast queues text for every client without ever waiting: a client
// whose queue is full is dropped on the spot. Holding the lock while
// queueing gives every client the same order of messages.
func (h *hub) broadcast(text, kind string) {
	msg := []byte(text)
	var slow []*member
	h.mu.Lock()
	for m := range h.clients {
		select {
		case m.send <- msg:
		default:
			slow = append(slow, m)
		}
	}
	for _, m := range slow {
		h.dropLocked(m)
	}
	h.mu.Unlock()
	h.events(kind, text)
	for _, m := range slow {
		h.events("dropped", m.name+" was too slow ("+strconv.Itoa(h.queue)+
			" messages queued) and was dropped.")
		// Closing the socket unblocks its writer and ends its reader.
		m.conn.NetConn().Close()
	}
	if len(slow) > 0 {
		for _, m := range slow {
			h.broadcast(m.name+" left.", "left")
		}
	}
}

// dropLocked removes m and closes its queue; h.mu is held.
func (h *hub) dropLocked(m *member) {
	delete(h.clients, m)
	close(m.send)
	h.dropped++
	h.droppedNames = append(h.droppedNames, m.name)
}

// isDropped reports whether the client called name was dropped.
func (h *hub) isDropped(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.droppedNames, name)
}

// remove takes m off the list; it reports false if it was already gone
// (dropped), so its leave is announced once.
func (h *hub) remove(m *member) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.clients[m] {
		return false
	}
	delete(h.clients, m)
	close(m.send)
	return true
}

// count returns how many clients are on the broadcast list, and how many
// were dropped so far.
func (h *hub) count() (clients, dropped int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients), h.dropped
}

// close says goodbye to every client (1001) and waits for them to go.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	var all []*member
	for m := range h.clients {
		all = append(all, m)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range all {
		wg.Go(func() { m.conn.Close(ws.CloseGoingAway, "server shutting down") })
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}
