package quic

import (
	"context"
	"errors"
)

// streamSet holds a connection's streams, the stream-count limits both
// ways (RFC 9000, Section 4.6), and the queues of streams with data or
// control frames to send.
type streamSet struct {
	c *Conn
	m map[uint64]*Stream

	// Streams this side opens: how many of each kind, and how many the
	// peer allows (MAX_STREAMS).
	openedBidi, openedUni   uint64
	peerMaxBidi, peerMaxUni uint64
	blockedBidi, blockedUni uint64 // limit a STREAMS_BLOCKED was sent for
	sendBlockedBidi         bool
	sendBlockedUni          bool
	openCh                  chan struct{} // closed and renewed when limits rise

	// Streams the peer opens: how many were opened and finished, and the
	// limits advertised.
	peerOpenedBidi, peerOpenedUni uint64
	doneBidi, doneUni             uint64
	maxBidi, maxUni               uint64 // our MAX_STREAMS
	initBidi, initUni             uint64
	maxStreamsPendingBidi         bool
	maxStreamsPendingUni          bool

	acceptBidi, acceptUni     []*Stream
	acceptBidiCh, acceptUniCh chan struct{}

	sendq []*Stream // streams with data to send, round robin
	ctrlq []*Stream // streams with control frames to send
}

func (ss *streamSet) init(c *Conn) {
	ss.c = c
	ss.m = make(map[uint64]*Stream)
	ss.openCh = make(chan struct{})
	ss.acceptBidiCh = make(chan struct{}, 1)
	ss.acceptUniCh = make(chan struct{}, 1)
	ss.initBidi = uint64(c.config.MaxBidiRemoteStreams)
	ss.initUni = uint64(c.config.MaxUniRemoteStreams)
	ss.maxBidi, ss.maxUni = ss.initBidi, ss.initUni
}

func (ss *streamSet) get(id uint64) *Stream { return ss.m[id] }

// local reports whether this side initiated stream id.
func (ss *streamSet) local(id uint64) bool {
	return (id&streamServerBit != 0) == ss.c.isServer
}

// forFrame returns the stream a frame refers to, opening peer streams up
// to it (Section 3.2). It returns nil for a stream that was closed, and
// an error for one that cannot exist.
func (ss *streamSet) forFrame(id, ft uint64, wantRecv bool) (*Stream, error) {
	if s := ss.m[id]; s != nil {
		if wantRecv && !s.hasRecv || !wantRecv && !s.hasSend {
			return nil, frameError(StreamStateError, ft,
				"frame for the wrong direction of stream %d", id)
		}
		return s, nil
	}
	index := id >> 2
	if ss.local(id) {
		opened := ss.openedBidi
		if isUni(id) {
			opened = ss.openedUni
			if wantRecv {
				return nil, frameError(StreamStateError, ft,
					"receive frame for our unidirectional stream %d", id)
			}
		}
		if index >= opened {
			return nil, frameError(StreamStateError, ft,
				"frame for stream %d, not opened yet", id)
		}
		return nil, nil // closed
	}
	if isUni(id) && !wantRecv {
		return nil, frameError(StreamStateError, ft,
			"send frame for the peer's unidirectional stream %d", id)
	}
	opened, limit := &ss.peerOpenedBidi, ss.maxBidi
	if isUni(id) {
		opened, limit = &ss.peerOpenedUni, ss.maxUni
	}
	if index >= limit {
		return nil, frameError(StreamLimitError, ft,
			"stream %d beyond the limit of %d", id, limit)
	}
	if index < *opened {
		return nil, nil // closed
	}
	for ; *opened <= index; *opened++ {
		sid := *opened<<2 | id&3
		s := ss.newPeerStream(sid)
		if isUni(sid) {
			ss.acceptUni = append(ss.acceptUni, s)
		} else {
			ss.acceptBidi = append(ss.acceptBidi, s)
		}
	}
	if isUni(id) {
		signal(ss.acceptUniCh)
	} else {
		signal(ss.acceptBidiCh)
	}
	return ss.m[id], nil
}

// newPeerStream makes a stream the peer opened, with our receive limits
// and the peer's send limits.
func (ss *streamSet) newPeerStream(id uint64) *Stream {
	c := ss.c
	s := newStream(c, id)
	if s.hasRecv {
		s.inWindow = uint64(c.config.MaxStreamReadBuffer)
		s.inMax = s.inWindow
	}
	if s.hasSend {
		s.outMax = c.peerParams.maxStreamDataBidiLoc
	}
	ss.m[id] = s
	return s
}

// open makes a stream this side initiates, if the peer's limit allows.
func (ss *streamSet) open(uni bool) (*Stream, bool) {
	c := ss.c
	n, limit := &ss.openedBidi, ss.peerMaxBidi
	if uni {
		n, limit = &ss.openedUni, ss.peerMaxUni
	}
	if *n >= limit {
		if uni {
			ss.sendBlockedUni = ss.blockedUni != limit
		} else {
			ss.sendBlockedBidi = ss.blockedBidi != limit
		}
		return nil, false
	}
	id := *n << 2
	if c.isServer {
		id |= streamServerBit
	}
	if uni {
		id |= streamUniBit
	}
	*n++
	s := newStream(c, id)
	if s.hasRecv {
		s.inWindow = uint64(c.config.MaxStreamReadBuffer)
		s.inMax = s.inWindow
	}
	if uni {
		s.outMax = c.peerParams.maxStreamDataUni
	} else {
		s.outMax = c.peerParams.maxStreamDataBidiRem
	}
	ss.m[id] = s
	return s, true
}

// OpenStream opens a bidirectional stream, waiting while the peer's
// MAX_STREAMS limit is reached. Nothing is sent until data is written.
func (c *Conn) OpenStream(ctx context.Context) (*Stream, error) {
	return c.openStream(ctx, false)
}

// OpenUniStream opens a unidirectional stream.
func (c *Conn) OpenUniStream(ctx context.Context) (*Stream, error) {
	return c.openStream(ctx, true)
}

// errNotReady is returned when a stream is opened before the connection
// can carry one: before the handshake, unless 0-RTT is in use.
var errNotReady = errors.New("quic: connection not ready for streams")

func (c *Conn) openStream(ctx context.Context, uni bool) (*Stream, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		c.mu.Lock()
		if c.state != stateActive {
			err := c.closeErr
			c.mu.Unlock()
			return nil, err
		}
		s, ok := c.streams.open(uni)
		ch := c.streams.openCh // taken with the failure, so no wake is missed
		c.mu.Unlock()
		if ok {
			return s, nil
		}
		c.wakeup() // send STREAMS_BLOCKED
		select {
		case <-ch:
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// AcceptStream waits for the peer to open a bidirectional stream.
func (c *Conn) AcceptStream(ctx context.Context) (*Stream, error) {
	return c.acceptStream(ctx, false)
}

// AcceptUniStream waits for the peer to open a unidirectional stream.
func (c *Conn) AcceptUniStream(ctx context.Context) (*Stream, error) {
	return c.acceptStream(ctx, true)
}

func (c *Conn) acceptStream(ctx context.Context, uni bool) (*Stream, error) {
	for {
		c.mu.Lock()
		q, ch := &c.streams.acceptBidi, c.streams.acceptBidiCh
		if uni {
			q, ch = &c.streams.acceptUni, c.streams.acceptUniCh
		}
		if len(*q) > 0 {
			s := (*q)[0]
			(*q)[0] = nil
			*q = (*q)[1:]
			if len(*q) > 0 {
				signal(ch) // for the next waiter
			}
			c.mu.Unlock()
			return s, nil
		}
		if c.state != stateActive {
			err := c.closeErr
			c.mu.Unlock()
			return nil, err
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// onMaxStreams raises the limit on streams this side may open.
func (ss *streamSet) onMaxStreams(uni bool, v uint64) {
	if uni && v > ss.peerMaxUni {
		ss.peerMaxUni = v
		ss.wakeOpeners()
	} else if !uni && v > ss.peerMaxBidi {
		ss.peerMaxBidi = v
		ss.wakeOpeners()
	}
}

// wakeOpeners wakes every goroutine waiting in OpenStream: several may
// proceed when a limit rises by more than one.
func (ss *streamSet) wakeOpeners() {
	close(ss.openCh)
	ss.openCh = make(chan struct{})
}

func (ss *streamSet) onMaxStreamsLost(uni bool) {
	if uni {
		ss.maxStreamsPendingUni = true
	} else {
		ss.maxStreamsPendingBidi = true
	}
}

// queueSend puts a stream in the send queue.
func (ss *streamSet) queueSend(s *Stream) {
	if !s.queued && !s.removed {
		s.queued = true
		ss.sendq = append(ss.sendq, s)
	}
}

// queueCtrl puts a stream in the control-frame queue.
func (ss *streamSet) queueCtrl(s *Stream) {
	if !s.ctrlQueued && !s.removed {
		s.ctrlQueued = true
		ss.ctrlq = append(ss.ctrlq, s)
	}
}

// maybeRemove forgets a stream whose both sides are done, and lets the
// peer open another in its place (MAX_STREAMS).
func (ss *streamSet) maybeRemove(s *Stream) {
	if s.removed || !s.sendDone() || !s.recvDone() {
		return
	}
	s.removed = true
	delete(ss.m, s.id)
	if ss.local(s.id) {
		return
	}
	if isUni(s.id) {
		ss.doneUni++
		ss.maxUni = ss.doneUni + ss.initUni
		ss.maxStreamsPendingUni = true
	} else {
		ss.doneBidi++
		ss.maxBidi = ss.doneBidi + ss.initBidi
		ss.maxStreamsPendingBidi = true
	}
}

// closeAll fails every stream with err, when the connection closes.
func (ss *streamSet) closeAll(err error) {
	for _, s := range ss.m {
		s.fail(err)
	}
	signal(ss.acceptBidiCh)
	signal(ss.acceptUniCh)
	ss.wakeOpeners()
}

// applyPeerParams sets the limits the peer's transport parameters give.
// Limits only rise, unless exact is set (after 0-RTT was rejected).
func (ss *streamSet) applyPeerParams(p *transportParams, exact bool) {
	if exact {
		ss.peerMaxBidi, ss.peerMaxUni = 0, 0
	}
	ss.onMaxStreams(false, p.initialMaxStreamsBidi)
	ss.onMaxStreams(true, p.initialMaxStreamsUni)
	for _, s := range ss.m {
		if !s.hasSend {
			continue
		}
		var v uint64
		switch {
		case isUni(s.id):
			v = p.maxStreamDataUni
		case ss.local(s.id):
			v = p.maxStreamDataBidiRem
		default:
			v = p.maxStreamDataBidiLoc
		}
		if exact {
			s.outMax = 0
		}
		s.onMaxStreamData(v)
	}
}
