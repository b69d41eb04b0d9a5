package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"backend-protocols/01-patterns/pubsub/resp"
	"backend-protocols/internal/timeline"
)

// Bounds on what one client may make the broker hold.
const (
	maxPayload   = 512 << 10 // bytes in one message or job
	maxQueueName = 256
	// defaultOutputLimit is how many bytes of replies and messages may wait
	// for a client before it is disconnected as too slow (Redis's
	// client-output-buffer-limit for pub/sub clients, in spirit).
	defaultOutputLimit = 1 << 20
	// pipelineDepth is how many commands a client may have read but not
	// yet executed.
	pipelineDepth = 64
)

var readLimits = resp.Limits{MaxBulk: maxPayload, MaxElems: 1 << 10, MaxDepth: 1,
	MaxLine: 64 << 10, MaxArgs: 1 << 10}

// broker is a pub/sub server speaking RESP, with durable work queues.
type broker struct {
	tl          *timeline.Timeline
	outputLimit int
	queues      *queues

	mu       sync.RWMutex
	channels map[string]map[*client]struct{}
	patterns map[string]map[*client]struct{}
	clients  map[*client]struct{}
	closed   bool

	nextID     atomic.Int64
	published  atomic.Int64 // PUBLISH commands
	delivered  atomic.Int64 // messages handed to subscribers
	slowClosed atomic.Int64 // subscribers disconnected for falling behind
	wg         sync.WaitGroup
}

// newBroker returns a broker; logPath names the work queues' log ("" keeps
// them in memory only).
func newBroker(tl *timeline.Timeline, logPath string) (*broker, error) {
	q, err := newQueues(logPath)
	if err != nil {
		return nil, err
	}
	return &broker{tl: tl, outputLimit: defaultOutputLimit, queues: q,
		channels: map[string]map[*client]struct{}{},
		patterns: map[string]map[*client]struct{}{},
		clients:  map[*client]struct{}{}}, nil
}

// serve accepts clients on ln until ctx is done, then disconnects them
// all and waits for their goroutines.
func (b *broker) serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		b.mu.Lock()
		b.closed = true
		for c := range b.clients {
			c.nc.Close()
		}
		b.mu.Unlock()
	})
	defer stop()
	defer b.wg.Wait()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		c := newClient(b, nc)
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			nc.Close()
			continue
		}
		b.clients[c] = struct{}{}
		b.mu.Unlock()
		b.wg.Add(3)
		go c.readLoop()
		go c.execLoop()
		go c.writeLoop()
	}
}

// close releases the queues' log.
func (b *broker) close() error { return b.queues.close() }

// client is one connection: a reader goroutine parses commands, an
// executor runs them in order, a writer drains the bounded output queue.
type client struct {
	b    *broker
	nc   net.Conn
	name string
	cmds chan command
	ctx  context.Context // ends when the connection does
	stop context.CancelFunc

	mu       sync.Mutex
	out      [][]byte
	outBytes int
	wake     chan struct{}
	closing  bool // no more output: flush and close
	aborted  bool // too slow or broken: drop output and close

	// Used by the executor only.
	channels map[string]bool
	patterns map[string]bool
}

func newClient(b *broker, nc net.Conn) *client {
	ctx, stop := context.WithCancel(context.Background())
	return &client{b: b, nc: nc, name: nc.RemoteAddr().String(),
		cmds: make(chan command, pipelineDepth), ctx: ctx, stop: stop,
		wake: make(chan struct{}, 1), channels: map[string]bool{},
		patterns: map[string]bool{}}
}

// send queues bytes for the client. If that would put more than the
// output limit in its queue, the client is disconnected instead: a slow
// subscriber must not make the broker hold unbounded memory, nor slow the
// publisher down.
func (c *client) send(p []byte) bool {
	c.mu.Lock()
	if c.closing || c.aborted {
		c.mu.Unlock()
		return false
	}
	if c.outBytes+len(p) > c.b.outputLimit {
		c.aborted = true
		c.mu.Unlock()
		c.b.slowClosed.Add(1)
		c.b.tl.Note("broker", "%s fell %d bytes behind: disconnected", c.name, c.outBytes)
		// Reset rather than close: what the kernel still holds for this
		// client is discarded at once instead of trickling out.
		if tc, ok := c.nc.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.nc.Close()
		c.signal()
		return false
	}
	c.out = append(c.out, p)
	c.outBytes += len(p)
	c.mu.Unlock()
	c.signal()
	return true
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// finish asks the writer to flush what is queued, then close.
func (c *client) finish() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.signal()
}

func (c *client) writeLoop() {
	defer c.b.wg.Done()
	defer c.nc.Close()
	for range c.wake {
		c.mu.Lock()
		bufs, closing, aborted := net.Buffers(c.out), c.closing, c.aborted
		c.out, c.outBytes = nil, 0
		c.mu.Unlock()
		if aborted {
			return
		}
		if len(bufs) > 0 {
			if _, err := bufs.WriteTo(c.nc); err != nil {
				c.mu.Lock()
				c.aborted = true
				c.mu.Unlock()
				return
			}
		}
		if closing {
			c.mu.Lock()
			empty := len(c.out) == 0
			c.mu.Unlock()
			if empty {
				return
			}
		}
	}
}

// command is what the reader hands the executor: a command, or the
// protocol error that ends the connection, in the order they arrived.
type command struct {
	args []string
	err  error
}

func (c *client) readLoop() {
	defer c.b.wg.Done()
	defer close(c.cmds)
	defer c.stop()
	r := resp.NewReaderLimits(c.nc, readLimits)
	for {
		args, err := r.ReadCommand()
		if err != nil && !errors.Is(err, resp.ErrProtocol) && !errors.Is(err, resp.ErrTooLarge) {
			return // the client went away
		}
		if err == nil && len(args) == 0 {
			continue // an empty inline line
		}
		select {
		case c.cmds <- command{args, err}:
		case <-c.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *client) execLoop() {
	defer c.b.wg.Done()
	defer c.b.drop(c)
	defer c.finish()
	for cmd := range c.cmds {
		if cmd.err != nil {
			// As Redis does: say why, then close.
			c.send(resp.AppendError(nil, "ERR Protocol error: "+
				strings.TrimPrefix(cmd.err.Error(), "resp: ")))
			return
		}
		if quit := c.exec(cmd.args); quit {
			return
		}
	}
}

// drop forgets a client that has gone: its subscriptions end and its
// unacknowledged jobs go back to their queues.
func (b *broker) drop(c *client) {
	c.stop()
	b.mu.Lock()
	for ch := range c.channels {
		removeSub(b.channels, ch, c)
	}
	for p := range c.patterns {
		removeSub(b.patterns, p, c)
	}
	delete(b.clients, c)
	b.mu.Unlock()
	if n := b.queues.release(c); n > 0 {
		b.tl.Note("broker", "%s left with %d unacknowledged jobs: back in the queue", c.name, n)
	}
}

func removeSub(m map[string]map[*client]struct{}, key string, c *client) {
	delete(m[key], c)
	if len(m[key]) == 0 {
		delete(m, key)
	}
}

// subscribedMode lists what a client with subscriptions may still send
// (RESP2 semantics).
var subscribedMode = map[string]bool{"SUBSCRIBE": true, "UNSUBSCRIBE": true,
	"PSUBSCRIBE": true, "PUNSUBSCRIBE": true, "PING": true, "QUIT": true, "RESET": true}

// exec runs one command and reports whether the client asked to quit.
func (c *client) exec(args []string) (quit bool) {
	cmd := strings.ToUpper(args[0])
	if len(c.channels)+len(c.patterns) > 0 && !subscribedMode[cmd] {
		c.send(resp.AppendError(nil, fmt.Sprintf("ERR Can't execute '%s': only "+
			"(P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
			strings.ToLower(args[0]))))
		return false
	}
	h, ok := commands[cmd]
	if !ok {
		c.send(resp.AppendError(nil, unknown(args)))
		return false
	}
	if len(args) < h.min || (h.max >= 0 && len(args) > h.max) {
		c.send(resp.AppendError(nil, fmt.Sprintf(
			"ERR wrong number of arguments for '%s' command", strings.ToLower(args[0]))))
		return false
	}
	return h.run(c, args)
}

func unknown(args []string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "ERR unknown command '%.64s', with args beginning with: ", args[0])
	for _, a := range args[1:min(len(args), 4)] {
		fmt.Fprintf(&sb, "'%.32s' ", a)
	}
	return sb.String()
}

// handler is a command: its argument counts (including the name; max -1
// for no limit) and what it does.
type handler struct {
	min, max int
	run      func(c *client, args []string) bool
}

var commands map[string]handler

func init() {
	commands = map[string]handler{
		"PING":         {1, 2, (*client).ping},
		"QUIT":         {1, -1, func(c *client, _ []string) bool { c.send(resp.AppendSimple(nil, "OK")); return true }},
		"RESET":        {1, 1, (*client).reset},
		"PUBLISH":      {3, 3, (*client).publish},
		"SUBSCRIBE":    {2, -1, (*client).subscribe},
		"PSUBSCRIBE":   {2, -1, (*client).subscribe},
		"UNSUBSCRIBE":  {1, -1, (*client).unsubscribe},
		"PUNSUBSCRIBE": {1, -1, (*client).unsubscribe},
		"QPUSH":        {3, 3, (*client).qpush},
		"QGET":         {3, 3, (*client).qget},
		"QACK":         {3, 3, (*client).qack},
		"QNACK":        {3, 3, (*client).qnack},
		"QLEN":         {2, 2, (*client).qlen},
	}
}

func (c *client) ping(args []string) bool {
	msg := ""
	if len(args) == 2 {
		msg = args[1]
	}
	if len(c.channels)+len(c.patterns) > 0 {
		// In subscribed mode a RESP2 PING answers with a push-shaped array.
		b := resp.AppendArray(nil, 2)
		b = resp.AppendBulk(b, "pong")
		c.send(resp.AppendBulk(b, msg))
		return false
	}
	if len(args) == 2 {
		c.send(resp.AppendBulk(nil, msg))
	} else {
		c.send(resp.AppendSimple(nil, "PONG"))
	}
	return false
}

func (c *client) reset([]string) bool {
	c.b.mu.Lock()
	for ch := range c.channels {
		removeSub(c.b.channels, ch, c)
	}
	for p := range c.patterns {
		removeSub(c.b.patterns, p, c)
	}
	c.b.mu.Unlock()
	clear(c.channels)
	clear(c.patterns)
	c.send(resp.AppendSimple(nil, "RESET"))
	return false
}

// publish delivers a message to every subscriber of the channel and every
// subscriber of a matching pattern, and answers with how many received
// it. Each delivery only queues bytes: a slow subscriber is disconnected,
// never waited for.
func (c *client) publish(args []string) bool {
	ch, payload := args[1], args[2]
	msg := resp.AppendArray(nil, 3)
	msg = resp.AppendBulk(msg, "message")
	msg = resp.AppendBulk(msg, ch)
	msg = resp.AppendBulk(msg, payload)
	n := 0
	c.b.mu.RLock()
	for sub := range c.b.channels[ch] {
		if sub.send(msg) {
			n++
		}
	}
	for pattern, subs := range c.b.patterns {
		if !globMatch(pattern, ch) {
			continue
		}
		pm := resp.AppendArray(nil, 4)
		pm = resp.AppendBulk(pm, "pmessage")
		pm = resp.AppendBulk(pm, pattern)
		pm = resp.AppendBulk(pm, ch)
		pm = resp.AppendBulk(pm, payload)
		for sub := range subs {
			if sub.send(pm) {
				n++
			}
		}
	}
	c.b.mu.RUnlock()
	c.b.published.Add(1)
	c.b.delivered.Add(int64(n))
	c.send(resp.AppendInt(nil, int64(n)))
	return false
}

// subscriptions returns the confirmation word and the client's and the
// broker's maps for SUBSCRIBE-like (channels) or PSUBSCRIBE-like
// (patterns) commands.
func (c *client) subscriptions(cmd string) (kind string, mine map[string]bool,
	all map[string]map[*client]struct{}) {
	kind = strings.ToLower(cmd)
	if strings.HasPrefix(kind, "p") {
		return kind, c.patterns, c.b.patterns
	}
	return kind, c.channels, c.b.channels
}

// confirm sends a (p)(un)subscribe confirmation: the kind, the name (nil
// when there is none) and the client's subscription count after it.
func (c *client) confirm(kind string, name *string) {
	b := resp.AppendArray(nil, 3)
	b = resp.AppendBulk(b, kind)
	if name == nil {
		b = resp.AppendNullBulk(b)
	} else {
		b = resp.AppendBulk(b, *name)
	}
	c.send(resp.AppendInt(b, int64(len(c.channels)+len(c.patterns))))
}

// subscribe handles SUBSCRIBE and PSUBSCRIBE: one confirmation per name.
func (c *client) subscribe(args []string) bool {
	kind, mine, all := c.subscriptions(args[0])
	for _, name := range args[1:] {
		c.b.mu.Lock()
		if all[name] == nil {
			all[name] = map[*client]struct{}{}
		}
		all[name][c] = struct{}{}
		c.b.mu.Unlock()
		mine[name] = true
		c.confirm(kind, &name)
	}
	return false
}

// unsubscribe handles UNSUBSCRIBE and PUNSUBSCRIBE, of the names given or
// of all when none are.
func (c *client) unsubscribe(args []string) bool {
	kind, mine, all := c.subscriptions(args[0])
	names := args[1:]
	if len(names) == 0 {
		for n := range mine {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		c.confirm(kind, nil)
		return false
	}
	for _, name := range names {
		c.b.mu.Lock()
		removeSub(all, name, c)
		c.b.mu.Unlock()
		delete(mine, name)
		c.confirm(kind, &name)
	}
	return false
}
