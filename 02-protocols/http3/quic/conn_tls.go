package quic

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"
)

// levelSpace maps a TLS encryption level to the packet number space that
// carries its CRYPTO frames (RFC 9001, Section 4). 0-RTT carries none.
func levelSpace(l tls.QUICEncryptionLevel) pnSpace {
	switch l {
	case tls.QUICEncryptionLevelInitial:
		return spaceInitial
	case tls.QUICEncryptionLevelHandshake:
		return spaceHandshake
	default:
		return spaceApp
	}
}

func spaceLevel(sp pnSpace) tls.QUICEncryptionLevel {
	switch sp {
	case spaceInitial:
		return tls.QUICEncryptionLevelInitial
	case spaceHandshake:
		return tls.QUICEncryptionLevelHandshake
	default:
		return tls.QUICEncryptionLevelApplication
	}
}

// controlFrames are connection-level frames waiting to be sent.
type controlFrames struct {
	handshakeDone bool
	ping          bool
	pathResponses []pathResponse
	closeSentCh   chan struct{}
}

// sessionParamsPrefix marks this engine's entry in a TLS session's Extra
// data, where the transport parameters 0-RTT depends on are kept.
const sessionParamsPrefix = "quic-params-v1:"

// rememberedParams are the server's transport parameters a client keeps
// with a session ticket, and must respect when it sends 0-RTT data
// (RFC 9000, Section 7.4.1). A server keeps its own in the ticket to
// decide whether early data is still acceptable.
type rememberedParams struct {
	activeConnIDLimit     uint64
	initialMaxData        uint64
	maxStreamDataBidiLoc  uint64
	maxStreamDataBidiRem  uint64
	maxStreamDataUni      uint64
	initialMaxStreamsBidi uint64
	initialMaxStreamsUni  uint64
}

func rememberParams(p *transportParams) rememberedParams {
	return rememberedParams{p.activeConnIDLimit, p.initialMaxData,
		p.maxStreamDataBidiLoc, p.maxStreamDataBidiRem, p.maxStreamDataUni,
		p.initialMaxStreamsBidi, p.initialMaxStreamsUni}
}

func (r rememberedParams) values() []uint64 {
	return []uint64{r.activeConnIDLimit, r.initialMaxData,
		r.maxStreamDataBidiLoc, r.maxStreamDataBidiRem, r.maxStreamDataUni,
		r.initialMaxStreamsBidi, r.initialMaxStreamsUni}
}

func (r rememberedParams) marshal() []byte {
	b := []byte(sessionParamsPrefix)
	for _, v := range r.values() {
		b = AppendVarint(b, v)
	}
	return b
}

// findRemembered looks for this engine's entry in a session's Extra.
func findRemembered(extra [][]byte) (rememberedParams, bool) {
	for _, e := range extra {
		rest, ok := bytes.CutPrefix(e, []byte(sessionParamsPrefix))
		if !ok {
			continue
		}
		r := reader{b: rest}
		var v [7]uint64
		for i := range v {
			v[i] = r.varint()
		}
		if r.err != nil {
			return rememberedParams{}, false
		}
		return rememberedParams{v[0], v[1], v[2], v[3], v[4], v[5], v[6]}, true
	}
	return rememberedParams{}, false
}

// atLeast reports whether every limit in r is at least the one in old.
func (r rememberedParams) atLeast(old rememberedParams) bool {
	a, b := r.values(), old.values()
	for i := range a {
		if a[i] < b[i] {
			return false
		}
	}
	return true
}

// localTransportParams builds the parameters this endpoint declares.
func (c *Conn) localTransportParams() transportParams {
	cfg := c.config
	p := defaultParams()
	p.maxIdleTimeout = cfg.MaxIdleTimeout
	p.maxUDPPayloadSize = uint64(cfg.MaxDatagramSize)
	p.initialMaxData = uint64(cfg.MaxConnReadBuffer)
	p.maxStreamDataBidiLoc = uint64(cfg.MaxStreamReadBuffer)
	p.maxStreamDataBidiRem = uint64(cfg.MaxStreamReadBuffer)
	p.maxStreamDataUni = uint64(cfg.MaxStreamReadBuffer)
	p.initialMaxStreamsBidi = uint64(cfg.MaxBidiRemoteStreams)
	p.initialMaxStreamsUni = uint64(cfg.MaxUniRemoteStreams)
	p.activeConnIDLimit = activeConnIDLimit
	p.initialSCID = c.cids.local[0].id
	if c.isServer {
		p.originalDCID = c.originalDCID
		if c.retrySCID != nil {
			p.retrySCID = c.retrySCID
			p.hasRetrySCID = true
		}
		t := c.cids.local[0].token
		p.statelessResetToken = t[:]
	}
	return p
}

// startTLS creates the TLS 1.3 state machine and runs it until it waits
// for the peer.
func (c *Conn) startTLS() error {
	qc := &tls.QUICConfig{TLSConfig: c.config.TLSConfig,
		EnableSessionEvents: true}
	if c.isServer {
		c.tls = tls.QUICServer(qc)
	} else {
		c.tls = tls.QUICClient(qc)
	}
	c.localParams = c.localTransportParams()
	c.tls.SetTransportParameters(c.localParams.marshal(c.isServer))
	ctx, cancel := context.WithCancel(context.Background())
	c.tlsCancel = cancel
	if err := c.tls.Start(ctx); err != nil {
		return c.tlsError(err)
	}
	return c.handleTLSEvents()
}

// tlsError turns a TLS failure into a CRYPTO_ERROR carrying its alert
// (RFC 9001, Section 4.8).
func (c *Conn) tlsError(err error) error {
	if errors.Is(err, ErrChaCha20) {
		return &TransportError{Code: CryptoErrorBase + 40, // handshake_failure
			Reason: ErrChaCha20.Error()}
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return &TransportError{Code: CryptoErrorBase + TransportErrorCode(alert),
			Reason: err.Error()}
	}
	return &TransportError{Code: CryptoErrorBase + 80, // internal_error
		Reason: err.Error()}
}

// handleCrypto feeds CRYPTO data received at a level to TLS, in order.
func (c *Conn) handleCrypto(sp pnSpace, f *frame) error {
	s := &c.spaces[sp]
	end := f.offset + uint64(len(f.data))
	if end <= s.cryptoIn.readOff {
		return nil // a retransmission of what TLS already has
	}
	if end-s.cryptoIn.readOff > maxCryptoBuffer {
		return frameError(CryptoBufferExceeded, f.typ,
			"%d bytes of CRYPTO data buffered", end-s.cryptoIn.readOff)
	}
	s.cryptoIn.write(f.offset, f.data)
	data := s.cryptoIn.peek()
	if len(data) == 0 {
		return nil
	}
	level := spaceLevel(sp)
	if err := c.tls.HandleData(level, data); err != nil {
		return c.tlsError(err)
	}
	s.cryptoIn.consume(len(data))
	return c.handleTLSEvents()
}

// handleTLSEvents applies what TLS produced: keys, handshake data to
// send, the peer's transport parameters, completion, tickets.
func (c *Conn) handleTLSEvents() error {
	for {
		e := c.tls.NextEvent()
		switch e.Kind {
		case tls.QUICNoEvent:
			return nil
		case tls.QUICSetReadSecret, tls.QUICSetWriteSecret:
			if err := c.installSecret(e); err != nil {
				return err
			}
		case tls.QUICWriteData:
			sp := levelSpace(e.Level)
			c.spaces[sp].cryptoOut.write(e.Data)
		case tls.QUICTransportParameters:
			if err := c.onPeerParams(e.Data); err != nil {
				return err
			}
		case tls.QUICTransportParametersRequired:
			c.tls.SetTransportParameters(c.localParams.marshal(c.isServer))
		case tls.QUICRejectedEarlyData:
			if err := c.onEarlyDataRejected(); err != nil {
				return err
			}
		case tls.QUICHandshakeDone:
			if err := c.onHandshakeComplete(); err != nil {
				return err
			}
		case tls.QUICResumeSession:
			c.onResumeSession(e.SessionState)
		case tls.QUICStoreSession:
			c.onStoreSession(e.SessionState)
		case tls.QUICErrorEvent:
			return c.tlsError(e.Err)
		}
	}
}

// installSecret derives packet protection keys from a TLS secret.
func (c *Conn) installSecret(e tls.QUICEvent) error {
	suite, err := suiteByID(e.Suite)
	if err != nil {
		return c.tlsError(err)
	}
	k, err := newKeys(suite, bytes.Clone(e.Data))
	if err != nil {
		return err
	}
	write := e.Kind == tls.QUICSetWriteSecret
	switch e.Level {
	case tls.QUICEncryptionLevelEarly:
		if write {
			c.zeroRTTSeal = k
			c.zeroRTTState = earlyAttempt
			c.closeReady() // streams may carry 0-RTT data now
		} else {
			c.zeroRTTOpen = k
			c.zeroRTTState = earlyAccepted
			if c.config.Allow0RTT {
				c.ep.accepted(c) // the application may read early streams
			}
		}
	case tls.QUICEncryptionLevelHandshake:
		if write {
			c.spaces[spaceHandshake].seal = k
		} else {
			c.spaces[spaceHandshake].open = k
		}
	case tls.QUICEncryptionLevelApplication:
		if write {
			err = c.app.install(k, nil)
			if c.isServer && c.zeroRTTState == earlyAccepted {
				// 0.5-RTT (RFC 9001, 4.1.1): a server that accepted
				// early data may open streams and answer it before the
				// client's Finished arrives, so a 0-RTT request costs
				// one round trip.
				c.closeReady()
			}
		} else {
			err = c.app.install(nil, k)
		}
	}
	return err
}

// onPeerParams checks the peer's transport parameters (RFC 9000,
// Section 7.3) and applies its limits.
func (c *Conn) onPeerParams(b []byte) error {
	p, err := parseTransportParams(b, !c.isServer)
	if err != nil {
		return err
	}
	if !bytes.Equal(p.initialSCID, c.peerSCID) {
		return paramError("initial_source_connection_id mismatch")
	}
	if !c.isServer {
		if !bytes.Equal(p.originalDCID, c.originalDCID) {
			return paramError("original_destination_connection_id mismatch")
		}
		if c.gotRetry != p.hasRetrySCID ||
			c.gotRetry && !bytes.Equal(p.retrySCID, c.retrySCID) {
			return paramError("retry_source_connection_id mismatch")
		}
		if len(p.statelessResetToken) == 16 && len(c.cids.peer) > 0 {
			copy(c.cids.peer[0].token[:], p.statelessResetToken)
			c.cids.peer[0].hasToken = true
			c.ep.addResetToken(c.cids.peer[0].token, c)
		}
	}
	c.peerParams = p
	c.havePeerParams = true
	// During a 0-RTT attempt the limits in force are the remembered ones
	// until the server accepts (then these may only be higher) or
	// rejects (then these replace them).
	c.flow.sendMax = max(c.flow.sendMax, p.initialMaxData)
	c.streams.applyPeerParams(&p, false)
	c.mtu.target = int(min(uint64(c.config.MaxDatagramSize), p.maxUDPPayloadSize))
	return nil
}

// onHandshakeComplete runs when TLS finished the handshake.
func (c *Conn) onHandshakeComplete() error {
	c.handshakeComplete = true
	if !c.havePeerParams {
		return paramError("handshake completed without transport parameters")
	}
	if c.isServer {
		// The server's handshake is confirmed now (RFC 9001, 4.1.2).
		c.ctrl.handshakeDone = true
		c.confirmHandshake()
		if !c.config.TLSConfig.SessionTicketsDisabled {
			extra := [][]byte{rememberParams(&c.localParams).marshal()}
			err := c.tls.SendSessionTicket(tls.QUICSessionTicketOptions{
				EarlyData: c.config.Allow0RTT, Extra: extra})
			if err != nil {
				return c.tlsError(err)
			}
		}
	} else {
		if c.zeroRTTState == earlyAttempt {
			// A server that accepts 0-RTT must not lower the limits the
			// client used (RFC 9000, Section 7.4.1).
			c.zeroRTTState = earlyAccepted
			if c.remembered != nil &&
				!rememberParams(&c.peerParams).atLeast(*c.remembered) {
				return errorf(ProtocolViolation,
					"server accepted 0-RTT but lowered its limits")
			}
		}
		// The client no longer sends 0-RTT once it has 1-RTT keys.
		c.zeroRTTSeal = nil
	}
	c.issueIDs()
	c.closeHandshake()
	c.closeReady()
	if c.isServer {
		c.ep.handshakeDone(c)
	}
	return nil
}

// confirmHandshake discards the Handshake keys once the handshake is
// confirmed (RFC 9001, Section 4.9.2).
func (c *Conn) confirmHandshake() {
	if c.handshakeConfirmed {
		return
	}
	c.handshakeConfirmed = true
	c.discardSpace(spaceInitial)
	c.discardSpace(spaceHandshake)
	c.mtu.target = min(c.mtu.target, c.config.MaxDatagramSize)
}

// onEarlyDataRejected runs on a client whose 0-RTT the server refused:
// the 0-RTT packets are lost, and their stream data is sent again in
// 1-RTT packets.
func (c *Conn) onEarlyDataRejected() error {
	c.zeroRTTState = earlyRejected
	c.zeroRTTSeal = nil
	c.declareZeroRTTLost(true)
	// The new parameters replace the remembered ones outright.
	p := &c.peerParams
	if c.streams.openedBidi > p.initialMaxStreamsBidi ||
		c.streams.openedUni > p.initialMaxStreamsUni {
		return errorf(InternalError, "0-RTT rejected and the server now "+
			"allows fewer streams than were opened")
	}
	c.flow.sendMax = p.initialMaxData
	c.streams.applyPeerParams(p, true)
	return nil
}

// declareZeroRTTLost treats every 0-RTT packet as lost, after a Retry or
// a rejection of early data. After a rejection the server kept nothing,
// so every stream starts over from its first byte.
func (c *Conn) declareZeroRTTLost(rejected bool) {
	s := &c.spaces[spaceApp]
	for i := range s.sent {
		p := &s.sent[i]
		if !p.zeroRTT || p.acked || p.lost {
			continue
		}
		p.lost = true
		if p.inFlight {
			if p.ackEliciting {
				s.ackElicitingInFlight--
			}
			c.rec.cc.removeFromFlight(p)
			p.inFlight = false
		}
		for _, f := range p.frames {
			if f.kind != sentStream || !rejected {
				c.onFrameLost(spaceApp, f)
			}
		}
		c.freeFrames(p)
	}
	c.trimSent(spaceApp)
	if !rejected {
		return
	}
	c.flow.sent = 0
	for _, st := range c.streams.m {
		if st.hasSend {
			st.out.next = st.out.base
			st.out.lost = nil
			st.finSent = false
			c.streams.queueSend(st)
		}
	}
}

// onResumeSession runs when TLS picked a session to resume. A client
// finds the server's remembered parameters for 0-RTT; a server refuses
// early data unless it allows 0-RTT and its limits did not shrink.
func (c *Conn) onResumeSession(ss *tls.SessionState) {
	r, ok := findRemembered(ss.Extra)
	if c.isServer {
		if !c.config.Allow0RTT || !ok ||
			!rememberParams(&c.localParams).atLeast(r) {
			ss.EarlyData = false
		}
		return
	}
	if !ok {
		ss.EarlyData = false
		return
	}
	if ss.EarlyData {
		c.remembered = &r
		c.applyRemembered(r)
	}
}

// applyRemembered sets the limits 0-RTT data must respect.
func (c *Conn) applyRemembered(r rememberedParams) {
	p := defaultParams()
	p.activeConnIDLimit = r.activeConnIDLimit
	p.initialMaxData = r.initialMaxData
	p.maxStreamDataBidiLoc = r.maxStreamDataBidiLoc
	p.maxStreamDataBidiRem = r.maxStreamDataBidiRem
	p.maxStreamDataUni = r.maxStreamDataUni
	p.initialMaxStreamsBidi = r.initialMaxStreamsBidi
	p.initialMaxStreamsUni = r.initialMaxStreamsUni
	c.peerParams = p
	c.flow.sendMax = p.initialMaxData
	c.streams.applyPeerParams(&p, false)
}

// onStoreSession keeps the server's parameters with a new ticket.
func (c *Conn) onStoreSession(ss *tls.SessionState) {
	ss.Extra = append(ss.Extra, rememberParams(&c.peerParams).marshal())
	if err := c.tls.StoreSession(ss); err != nil {
		c.closeLocked(fmt.Errorf("quic: storing session: %w", err), false)
	}
}

// handshakeDeadline is when the handshake must be complete.
func (c *Conn) handshakeDeadline() time.Time {
	return c.started.Add(c.config.HandshakeTimeout)
}
