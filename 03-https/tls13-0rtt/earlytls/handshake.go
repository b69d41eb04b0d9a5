package earlytls

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
)

// rawBufLen is the read buffer: one whole record of the largest size.
const rawBufLen = HeaderLen + MaxCiphertext

// readRecord reads one record and processes it. The caller holds inSem.
// A read that times out leaves what was read for the next call.
func (c *Conn) readRecord() error {
	if c.in.err != nil {
		return c.in.err
	}
	for {
		rec, n, err := ParseRecord(c.in.raw)
		if err != nil {
			return c.fail(err, true)
		}
		if n > 0 {
			err := c.process(rec)
			// Keep the unparsed rest at the front of the buffer.
			c.in.raw = c.in.raw[:copy(c.in.raw, c.in.raw[n:])]
			return err
		}
		if c.in.raw == nil {
			c.in.raw = make([]byte, 0, rawBufLen)
		}
		k, err := c.conn.Read(c.in.raw[len(c.in.raw):cap(c.in.raw)])
		c.in.raw = c.in.raw[:len(c.in.raw)+k]
		if k > 0 {
			continue
		}
		if errors.Is(err, io.EOF) && len(c.in.raw) > 0 {
			err = io.ErrUnexpectedEOF
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return err // not fatal: the caller may read again
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		return c.fail(err, false)
	}
}

// process handles one record.
func (c *Conn) process(rec Record) error {
	handshaking := !c.HandshakeComplete()
	switch rec.Type {
	case TypeChangeCipherSpec:
		// Section 5: a peer in middlebox compatibility mode may send
		// one, which is dropped unread; we never send it.
		if !handshaking || c.in.ccs || len(rec.Fragment) != 1 || rec.Fragment[0] != 1 {
			return c.fail(fmt.Errorf("earlytls: unexpected change_cipher_spec: %w",
				alertUnexpectedMessage), true)
		}
		c.in.ccs = true
		return nil
	case TypeAlert:
		if c.in.level != levelInitial {
			return c.fail(fmt.Errorf("earlytls: plaintext alert after keys: %w",
				alertUnexpectedMessage), true)
		}
		return c.alert(rec.Fragment)
	case TypeHandshake:
		if c.in.level != levelInitial {
			return c.fail(fmt.Errorf("earlytls: plaintext handshake after keys: %w",
				alertUnexpectedMessage), true)
		}
		first := !c.in.sawHello
		c.in.sawHello = true
		return c.handshake(levelInitial, rec.Fragment, first)
	}
	level, typ, content, err := c.open(rec)
	if err != nil {
		return c.fail(err, true)
	}
	switch {
	case level < 0:
		return nil // refused early data, skipped
	case typ == TypeHandshake && level != levelEarly:
		ticket := c.isClient && level == levelApplication &&
			len(content) > 0 && content[0] == 4 // NewSessionTicket
		err := c.handshake(level, content, false)
		if err == nil && ticket {
			c.tickets.Add(1)
		}
		return err
	case typ == TypeApplicationData && (level == levelEarly || level == levelApplication):
		if level == levelEarly {
			c.in.early += len(content)
			if c.in.early > c.config.maxEarly() {
				return c.fail(fmt.Errorf("earlytls: more than %d bytes of early data: %w",
					c.config.maxEarly(), alertUnexpectedMessage), true)
			}
		}
		c.in.data = append(c.in.data[:0], content...)
		c.in.dataEarly = level == levelEarly
		return nil
	case typ == TypeAlert:
		return c.alert(content)
	}
	return c.fail(fmt.Errorf("earlytls: %s record at the %v level: %w",
		typ, level, alertUnexpectedMessage), true)
}

// open decrypts a protected record and says at which level it was
// protected; a level of -1 means refused early data to skip. A server
// tells early data from the client's handshake messages by trial (the
// client sends no EndOfEarlyData, as over QUIC; see doc.go): a record
// that the early keys do not open must be under the handshake keys, and
// when it has no early keys (early data refused, or a HelloRetryRequest
// sent) the records the handshake keys do not open before the first that
// they do are the refused early data, skipped up to the early data limit
// (Section 4.2.10).
func (c *Conn) open(rec Record) (tls.QUICEncryptionLevel, ContentType, []byte, error) {
	if !c.isClient && !c.in.earlyOver && c.in.sawHello &&
		c.in.level <= levelHandshake {
		if p := c.in.prot[levelEarly]; p != nil {
			if typ, content, err := p.Open(rec); err == nil {
				return levelEarly, typ, content, nil
			}
		}
		if p := c.in.prot[levelHandshake]; p != nil {
			if typ, content, err := p.Open(rec); err == nil {
				c.in.earlyOver = true
				return levelHandshake, typ, content, nil
			}
		}
		if c.in.prot[levelEarly] == nil {
			c.in.early += len(rec.Fragment)
			if c.in.early > c.config.maxEarly() {
				return 0, 0, nil, fmt.Errorf("earlytls: more than %d bytes "+
					"of undecryptable data: %w", c.config.maxEarly(), alertBadRecordMAC)
			}
			return -1, 0, nil, nil
		}
		return 0, 0, nil, alertBadRecordMAC
	}
	p := c.in.prot[c.in.level]
	if p == nil {
		return 0, 0, nil, fmt.Errorf("earlytls: protected record before keys: %w",
			alertUnexpectedMessage)
	}
	typ, content, err := p.Open(rec)
	return c.in.level, typ, content, err
}

// alert handles an alert's body: close_notify ends the stream cleanly,
// anything else is the peer's fatal error.
func (c *Conn) alert(b []byte) error {
	if len(b) != 2 {
		return c.fail(fmt.Errorf("earlytls: alert of %d bytes: %w", len(b),
			alertDecodeError), true)
	}
	if tls.AlertError(b[1]) == alertCloseNotify {
		c.in.err = io.EOF
		c.finish(io.ErrUnexpectedEOF)
		return io.EOF
	}
	return c.fail(fmt.Errorf("earlytls: peer sent alert: %w", tls.AlertError(b[1])), false)
}

// handshake gives handshake bytes to crypto/tls and acts on its events.
// hello marks a server's first record, which starts the ClientHello.
func (c *Conn) handshake(level tls.QUICEncryptionLevel, data []byte, hello bool) error {
	c.qmu.Lock()
	if hello && !c.isClient && len(data) >= 38 && data[0] == 1 {
		c.noteRandom(data[6:38]) // type, length, version, then the random
	}
	err := c.q.HandleData(level, data)
	if err == nil {
		err = c.drainEvents()
	}
	c.qmu.Unlock()
	if err != nil {
		return c.fail(err, true)
	}
	return c.flush(false)
}

// drainEvents acts on every event the handshake has produced: keys to
// install, handshake messages to send, the handshake's end. The caller
// holds qmu (and inSem, if keys for reading may come).
func (c *Conn) drainEvents() error {
	for {
		ev := c.q.NextEvent()
		switch ev.Kind {
		case tls.QUICNoEvent:
			return nil
		case tls.QUICErrorEvent:
			return ev.Err
		case tls.QUICSetReadSecret:
			p, err := NewProtector(ev.Suite, ev.Data)
			if err != nil {
				return err
			}
			c.in.prot[ev.Level] = p
			c.in.level = ev.Level
			if ev.Level == levelEarly {
				c.earlyAccepted.Store(true)
				c.logEarly(ev.Suite, ev.Data)
			}
		case tls.QUICSetWriteSecret:
			if err := c.setWriteSecret(ev); err != nil {
				return err
			}
		case tls.QUICWriteData:
			c.out.Lock()
			if c.isClient && ev.Level == levelInitial && c.clientRandom == nil &&
				len(ev.Data) >= 38 {
				c.noteRandom(ev.Data[6:38])
			}
			err := c.sealLocked(ev.Level, TypeHandshake, ev.Data)
			c.out.Unlock()
			if err != nil {
				return err
			}
		case tls.QUICTransportParametersRequired:
			c.q.SetTransportParameters(nil)
		case tls.QUICRejectedEarlyData:
			c.out.Lock()
			c.out.rejected = true
			c.out.prot[levelEarly] = nil
			c.out.Unlock()
		case tls.QUICResumeSession:
			// A server deciding whether this ticket may carry early data
			// (the guard, if any, has had its say in UnwrapSession).
			if s := ev.SessionState; s != nil && !c.config.EarlyData {
				s.EarlyData = false
			}
		case tls.QUICHandshakeDone:
			if err := c.handshakeDone(); err != nil {
				return err
			}
		}
	}
}

// setWriteSecret installs a write key. On a client, the application key
// arrives after the Finished is queued: early data the server refused is
// queued again under it, ahead of anything newer.
func (c *Conn) setWriteSecret(ev tls.QUICEvent) error {
	p, err := NewProtector(ev.Suite, ev.Data)
	if err != nil {
		return err
	}
	c.out.Lock()
	defer c.out.Unlock()
	c.out.prot[ev.Level] = p
	switch {
	case ev.Level == levelEarly:
		c.logEarly(ev.Suite, ev.Data)
	case ev.Level == levelApplication && c.isClient:
		if c.out.rejected && len(c.out.early) > 0 {
			if err := c.sealLocked(levelApplication, TypeApplicationData, c.out.early); err != nil {
				return err
			}
		}
		if !c.out.rejected && len(c.out.early) > 0 {
			c.earlyAccepted.Store(true)
		}
		c.out.early = nil
	}
	return nil
}

// handshakeDone ends the handshake; a server then sends a session ticket.
func (c *Conn) handshakeDone() error {
	if !c.isClient {
		opts := tls.QUICSessionTicketOptions{EarlyData: c.config.EarlyData}
		if err := c.q.SendSessionTicket(opts); err != nil {
			return err
		}
	}
	c.finish(nil)
	return nil
}

// noteRandom records the ClientHello's random, for the key log. The
// caller holds qmu.
func (c *Conn) noteRandom(r []byte) {
	c.clientRandom = append([]byte(nil), r...)
	if c.earlySecret != nil {
		c.writeKeyLog()
	}
}

// logEarly writes the early traffic secret to the key log, which
// crypto/tls does not do, so that Wireshark can read the early data. The
// caller holds qmu.
func (c *Conn) logEarly(suite uint16, secret []byte) {
	c.earlySuite = suite
	c.earlySecret = append([]byte(nil), secret...)
	if c.clientRandom != nil {
		c.writeKeyLog()
	}
}

func (c *Conn) writeKeyLog() {
	w := c.config.TLS.KeyLogWriter
	if w == nil || c.earlySecret == nil {
		return
	}
	fmt.Fprintf(w, "CLIENT_EARLY_TRAFFIC_SECRET %x %x\n", c.clientRandom, c.earlySecret)
	c.earlySecret = nil
}
