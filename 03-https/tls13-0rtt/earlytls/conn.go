package earlytls

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Encryption levels, named as crypto/tls's QUIC API names them. Initial is
// plaintext; the others each have their own traffic secret per direction.
const (
	levelInitial     = tls.QUICEncryptionLevelInitial
	levelEarly       = tls.QUICEncryptionLevelEarly
	levelHandshake   = tls.QUICEncryptionLevelHandshake
	levelApplication = tls.QUICEncryptionLevelApplication
)

// Conn is a TLS 1.3 connection over a byte stream, with 0-RTT early data:
// crypto/tls runs the handshake (through its QUIC API) and Conn carries
// its messages in TLS records, protected with the secrets the handshake
// hands over. It implements net.Conn and is safe for one concurrent
// reader and one concurrent writer, like tls.Conn. Close it: until the
// handshake ends, crypto/tls runs it on a goroutine of its own, which
// only the handshake's end or Close stops.
type Conn struct {
	conn     net.Conn
	config   *Config
	isClient bool

	// qmu guards q, the handshake; taken for short, non-blocking calls.
	qmu          sync.Mutex
	q            *tls.QUICConn
	startErr     error
	started      bool
	clientRandom []byte // from the ClientHello, for the key log
	earlySecret  []byte // logged once the random is known
	earlySuite   uint16

	// inSem is the read lock: whoever holds it reads records. A channel,
	// so that Handshake can wait for either the lock or the handshake's
	// end (another reader may be finishing the handshake for it).
	inSem chan struct{}
	in    input

	out output

	hsDone    chan struct{} // closed when the handshake completes or fails
	hsOnce    sync.Once
	hsErr     error // set before hsDone closes
	closeOnce sync.Once

	tickets       atomic.Int64 // session tickets a client has received
	earlyAccepted atomic.Bool  // early data was accepted
	earlyRead     atomic.Int64 // bytes Read returned that came as early data
	lateRead      atomic.Int64 // bytes Read returned that came after
}

// input is the reading side; guarded by inSem.
type input struct {
	raw       []byte // bytes read but not yet parsed into records
	data      []byte // decrypted application data not yet returned
	dataEarly bool   // data arrived as early data
	prot      [4]*Protector
	level     tls.QUICEncryptionLevel // the newest read secret's level
	sawHello  bool                    // server: a ClientHello arrived
	earlyOver bool                    // server: early data is over
	early     int                     // server: early data bytes taken or skipped
	ccs       bool                    // a compatibility ChangeCipherSpec was dropped
	err       error                   // sticky: the connection is unreadable
}

// output is the writing side.
type output struct {
	sync.Mutex
	prot     [4]*Protector
	pending  []byte // records not yet written
	held     bool   // client: hold the ClientHello for the first Write
	early    []byte // client: early data sent, kept in case it is refused
	rejected bool   // client: the server refused early data
	err      error  // sticky
}

func newConn(conn net.Conn, config *Config, client bool) *Conn {
	return &Conn{conn: conn, config: config, isClient: client,
		inSem: make(chan struct{}, 1), hsDone: make(chan struct{})}
}

// start creates the handshake and, on a client, produces the ClientHello
// (held back until the first write or read). It runs once.
func (c *Conn) start() error {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.started {
		return c.startErr
	}
	c.started = true
	cfg, err := c.config.tlsConfig(c.isClient)
	if err != nil {
		c.startErr = err
		return err
	}
	qc := &tls.QUICConfig{TLSConfig: cfg}
	if c.isClient {
		c.q = tls.QUICClient(qc)
		c.out.Lock()
		c.out.held = true
		c.out.Unlock()
	} else {
		// Session events let the server refuse early data per ticket.
		qc.EnableSessionEvents = true
		c.q = tls.QUICServer(qc)
	}
	// Transport parameters mean nothing over TCP, but the QUIC API sends
	// and requires the extension: an empty one.
	c.q.SetTransportParameters(nil)
	if err := c.q.Start(context.Background()); err != nil {
		c.startErr = err
		return err
	}
	c.startErr = c.drainEvents()
	return c.startErr
}

// Handshake runs the handshake to completion, if it has not completed.
// Read and Write call it when they need to, so calling it is optional.
func (c *Conn) Handshake() error { return c.HandshakeContext(context.Background()) }

// HandshakeContext is Handshake with a context: if ctx ends first, the
// connection is closed and the handshake fails.
func (c *Conn) HandshakeContext(ctx context.Context) error {
	if err := c.start(); err != nil {
		return err
	}
	if err := c.flush(true); err != nil {
		return err
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			select {
			case <-c.hsDone:
			default:
				c.conn.Close()
			}
		})
		defer stop()
	}
	for {
		select {
		case <-c.hsDone:
			return c.hsErr
		case <-ctx.Done():
			return ctx.Err()
		case c.inSem <- struct{}{}:
		}
		// We hold the read lock: read one record, unless the handshake
		// ended while we waited for it.
		var err error
		select {
		case <-c.hsDone:
		default:
			err = c.readRecord()
		}
		<-c.inSem
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// Read reads application data: on a server, possibly early data that
// arrived before the handshake completed (see InEarlyData).
func (c *Conn) Read(b []byte) (int, error) {
	if err := c.start(); err != nil {
		return 0, err
	}
	if err := c.flush(true); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.inSem <- struct{}{}
	defer func() { <-c.inSem }()
	for len(c.in.data) == 0 {
		if err := c.readRecord(); err != nil {
			return 0, err
		}
	}
	n := copy(b, c.in.data)
	c.in.data = c.in.data[n:]
	if c.in.dataEarly {
		c.earlyRead.Add(int64(n))
	} else {
		c.lateRead.Add(int64(n))
	}
	return n, nil
}

// Write writes application data. On a client that resumes a session
// whose ticket allows it, data written before the handshake completes is
// sent at once as early data (the first write in the same TCP write as
// the ClientHello), up to the configured maximum; if the server refuses
// it, Conn sends it again once the handshake completes. Otherwise Write
// waits for the handshake. A server writes as soon as it has sent its
// Finished (0.5-RTT data), before the client's Finished arrives.
func (c *Conn) Write(b []byte) (int, error) {
	if err := c.start(); err != nil {
		return 0, err
	}
	n := 0
	for len(b) > 0 {
		k, err := c.writeSome(b)
		n += k
		b = b[k:]
		if err != nil {
			return n, err
		}
		if k == 0 {
			if err := c.Handshake(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// writeSome writes what it can of b without waiting for the handshake,
// and reports how much; 0 means wait.
func (c *Conn) writeSome(b []byte) (int, error) {
	c.out.Lock()
	defer c.out.Unlock()
	if c.out.err != nil {
		return 0, c.out.err
	}
	if c.out.prot[levelApplication] != nil {
		if err := c.sealLocked(levelApplication, TypeApplicationData, b); err != nil {
			return 0, err
		}
		return len(b), c.flushLocked()
	}
	if !c.isClient || c.out.prot[levelEarly] == nil {
		return 0, nil
	}
	room := c.config.maxEarly() - len(c.out.early)
	if room <= 0 {
		return 0, nil
	}
	b = b[:min(len(b), room)]
	if err := c.sealLocked(levelEarly, TypeApplicationData, b); err != nil {
		return 0, err
	}
	c.out.early = append(c.out.early, b...)
	c.out.held = false // the ClientHello goes with it
	return len(b), c.flushLocked()
}

// flush writes the records waiting to be written; with release set it
// first lets a held ClientHello go.
func (c *Conn) flush(release bool) error {
	c.out.Lock()
	defer c.out.Unlock()
	if release {
		c.out.held = false
	}
	return c.flushLocked()
}

func (c *Conn) flushLocked() error {
	if c.out.held || len(c.out.pending) == 0 {
		return nil
	}
	_, err := c.conn.Write(c.out.pending)
	c.out.pending = c.out.pending[:0]
	if err != nil {
		c.out.err = err
	}
	return err
}

// sealLocked appends records of type typ carrying data, protected at
// level (plaintext at the Initial level), to the pending output.
func (c *Conn) sealLocked(level tls.QUICEncryptionLevel, typ ContentType, data []byte) error {
	for len(data) > 0 {
		chunk := data[:min(len(data), MaxPlaintext)]
		data = data[len(chunk):]
		if level == levelInitial {
			c.out.pending = AppendRecord(c.out.pending, typ, chunk)
			continue
		}
		p := c.out.prot[level]
		if p == nil {
			return fmt.Errorf("earlytls: no %v write key: %w", level, alertInternalError)
		}
		var err error
		if c.out.pending, err = p.Seal(c.out.pending, typ, chunk); err != nil {
			return err
		}
	}
	return nil
}

// Close sends a close_notify alert (with the newest keys it has) and
// closes the connection, stopping a handshake in progress.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.out.Lock()
		if c.out.err == nil && c.started {
			c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.alertLocked(alertCloseNotify)
		}
		c.out.err = net.ErrClosed
		c.out.Unlock()
		err = c.conn.Close()
		c.qmu.Lock()
		if c.q != nil {
			c.q.Close()
		}
		c.qmu.Unlock()
		c.finish(net.ErrClosed)
	})
	return err
}

// alertLocked sends an alert at the newest write level.
func (c *Conn) alertLocked(a tls.AlertError) {
	level := levelInitial
	for _, l := range []tls.QUICEncryptionLevel{levelApplication, levelHandshake} {
		if c.out.prot[l] != nil {
			level = l
			break
		}
	}
	c.out.held = false
	body := []byte{2, byte(a)} // fatal
	if a == alertCloseNotify {
		body[0] = 1 // warning
	}
	if c.sealLocked(level, TypeAlert, body) == nil {
		c.flushLocked()
	}
}

// fail makes err the connection's fatal error: it sends the alert err
// carries (internal_error if none) unless the peer sent one, and ends the
// handshake if it was running.
func (c *Conn) fail(err error, sendAlert bool) error {
	if sendAlert {
		a := alertInternalError
		errors.As(err, &a)
		c.out.Lock()
		if c.out.err == nil {
			c.alertLocked(a)
			c.out.err = err
		}
		c.out.Unlock()
	}
	c.in.err = err
	c.finish(err)
	return err
}

// finish marks the handshake over, with err if it did not succeed.
func (c *Conn) finish(err error) {
	c.hsOnce.Do(func() {
		c.hsErr = err
		close(c.hsDone)
	})
}

// HandshakeComplete reports whether the handshake completed successfully.
func (c *Conn) HandshakeComplete() bool {
	select {
	case <-c.hsDone:
		return c.hsErr == nil
	default:
		return false
	}
}

// AwaitTicket reads, on a client, until the server's session ticket has
// arrived (or application data has, which a later Read returns). A server
// sends its ticket once it has the client's Finished, a round trip after
// a 0-RTT response; a client that hangs up at once keeps only the ticket
// it used, which a guarded server will not take early data on again.
func (c *Conn) AwaitTicket(ctx context.Context) error {
	if !c.isClient {
		return errors.New("earlytls: AwaitTicket on a server")
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.conn.SetReadDeadline(time.Now()) })
		defer stop()
	}
	c.inSem <- struct{}{}
	defer func() { <-c.inSem }()
	for c.tickets.Load() == 0 && len(c.in.data) == 0 {
		if err := c.readRecord(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
	return nil
}

// EarlyDataAccepted reports whether the server accepted the client's early
// data: on a client, known once the handshake completes; on a server, once
// the ClientHello has been read.
func (c *Conn) EarlyDataAccepted() bool { return c.earlyAccepted.Load() }

// InEarlyData reports, on a server, whether every byte Read has returned
// so far arrived as 0-RTT early data: true while the application is
// reading a request that came in the client's first flight, which an
// attacker may have replayed (RFC 8446 Section 8; RFC 8470 lets a server
// answer such a request 425 Too Early).
func (c *Conn) InEarlyData() bool {
	return c.earlyRead.Load() > 0 && c.lateRead.Load() == 0
}

// ConnectionState returns the handshake's state.
func (c *Conn) ConnectionState() tls.ConnectionState {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.q == nil {
		return tls.ConnectionState{}
	}
	return c.q.ConnectionState()
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines of the connection.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the read deadline; a Read that times out may be
// retried.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline. A Write that times out leaves
// the connection unusable, as records may have been cut.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

var _ net.Conn = (*Conn)(nil)
var _ io.ReadWriteCloser = (*Conn)(nil)
