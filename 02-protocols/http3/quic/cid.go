package quic

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
)

// activeConnIDLimit is how many of the peer's connection ids this
// endpoint stores (its active_connection_id_limit), and the most it
// issues to the peer.
const activeConnIDLimit = 4

// localConnID is a connection id this endpoint issued: packets arriving
// with it as their destination belong to the connection.
type localConnID struct {
	seq     uint64
	id      []byte
	token   [16]byte
	sent    bool // NEW_CONNECTION_ID acknowledged or in flight
	pending bool // NEW_CONNECTION_ID to send
}

// peerConnID is a connection id the peer issued, for addressing it.
type peerConnID struct {
	seq      uint64
	id       []byte
	token    [16]byte
	hasToken bool
}

// connIDs manages both sides' connection ids (RFC 9000, Section 5.1).
type connIDs struct {
	local   []localConnID
	nextSeq uint64

	peer        []peerConnID // peer[0] is the one in use
	retireBelow uint64       // the peer's highest Retire Prior To
	retire      []uint64     // RETIRE_CONNECTION_ID frames to send
}

// resetToken derives the stateless reset token of a connection id from
// the endpoint's secret key (RFC 9000, Section 10.3.2), so that the
// endpoint can send a reset for it after forgetting the connection.
func resetToken(key []byte, id []byte) [16]byte {
	m := hmac.New(sha256.New, key)
	m.Write(id)
	var t [16]byte
	copy(t[:], m.Sum(nil))
	return t
}

// addLocal records a new local id and registers it with the endpoint.
func (c *Conn) addLocalID(id []byte) *localConnID {
	l := localConnID{seq: c.cids.nextSeq, id: id,
		token: resetToken(c.ep.resetKey, id)}
	c.cids.nextSeq++
	c.cids.local = append(c.cids.local, l)
	c.ep.addID(id, c)
	return &c.cids.local[len(c.cids.local)-1]
}

// issueIDs queues NEW_CONNECTION_ID frames until the peer holds as many
// ids as it allows (at most activeConnIDLimit), so it can switch ids when
// its address changes.
func (c *Conn) issueIDs() {
	limit := min(c.peerParams.activeConnIDLimit, activeConnIDLimit)
	for uint64(len(c.cids.local)) < limit {
		l := c.addLocalID(newConnID())
		l.pending = true
	}
}

// dstID returns the connection id to put in packets to the peer.
func (c *Conn) dstID() []byte {
	if len(c.cids.peer) == 0 {
		return nil
	}
	return c.cids.peer[0].id
}

// onNewConnectionID handles NEW_CONNECTION_ID (RFC 9000, Section 19.15).
func (c *Conn) onNewConnectionID(f *frame) error {
	ids := &c.cids
	if len(c.dstID()) == 0 {
		return frameError(ProtocolViolation, f.typ,
			"NEW_CONNECTION_ID while using zero-length ids")
	}
	for _, p := range ids.peer {
		if p.seq == f.value {
			if !bytes.Equal(p.id, f.connID) || p.token != f.resetToken {
				return frameError(ProtocolViolation, f.typ,
					"sequence %d reused for another id", f.value)
			}
			return nil
		}
	}
	if f.value >= ids.retireBelow {
		ids.peer = append(ids.peer, peerConnID{seq: f.value,
			id: append([]byte(nil), f.connID...), token: f.resetToken,
			hasToken: true})
		c.ep.addResetToken(f.resetToken, c)
	} else {
		// Already retired by an earlier Retire Prior To: retire it.
		ids.retire = append(ids.retire, f.value)
	}
	if f.retirePriorTo > ids.retireBelow {
		ids.retireBelow = f.retirePriorTo
		kept := ids.peer[:0]
		for _, p := range ids.peer {
			if p.seq < ids.retireBelow {
				ids.retire = append(ids.retire, p.seq)
				if p.hasToken {
					c.ep.removeResetToken(p.token)
				}
				continue
			}
			kept = append(kept, p)
		}
		ids.peer = kept
	}
	// Retirements waiting to be sent are bounded too (Section 5.1.2).
	if len(ids.retire) > 4*activeConnIDLimit {
		return frameError(ConnectionIDLimitError, f.typ,
			"%d connection ids waiting to be retired", len(ids.retire))
	}
	if len(ids.peer) > activeConnIDLimit {
		return frameError(ConnectionIDLimitError, f.typ,
			"peer issued %d connection ids, limit %d", len(ids.peer),
			activeConnIDLimit)
	}
	if len(ids.peer) == 0 {
		return frameError(ProtocolViolation, f.typ,
			"all connection ids retired")
	}
	return nil
}

// onRetireConnectionID handles RETIRE_CONNECTION_ID: the peer stopped
// using one of our ids; we forget it and issue another.
func (c *Conn) onRetireConnectionID(f *frame, dcid []byte) error {
	ids := &c.cids
	if f.value >= ids.nextSeq {
		return frameError(ProtocolViolation, f.typ,
			"retiring id %d, never issued", f.value)
	}
	for i, l := range ids.local {
		if l.seq != f.value {
			continue
		}
		if bytes.Equal(l.id, dcid) {
			return frameError(ProtocolViolation, f.typ,
				"retiring the id the packet was sent to")
		}
		c.ep.removeID(l.id)
		ids.local = append(ids.local[:i], ids.local[i+1:]...)
		if c.handshakeComplete {
			c.issueIDs()
		}
		return nil
	}
	return nil // already retired
}

func (ids *connIDs) onNewLost(seq uint64) {
	for i := range ids.local {
		if ids.local[i].seq == seq {
			ids.local[i].pending = true
		}
	}
}

func (ids *connIDs) onRetireLost(seq uint64) {
	ids.retire = append(ids.retire, seq)
}

// isLocal reports whether id is one of ours.
func (ids *connIDs) isLocal(id []byte) bool {
	for _, l := range ids.local {
		if bytes.Equal(l.id, id) {
			return true
		}
	}
	return false
}

// isPeerReset reports whether the last 16 bytes of a datagram are a
// stateless reset token the peer gave us (RFC 9000, Section 10.3.1).
func (ids *connIDs) isPeerReset(b []byte) bool {
	if len(b) < 21 {
		return false
	}
	var t [16]byte
	copy(t[:], b[len(b)-16:])
	for _, p := range ids.peer {
		if p.hasToken && hmac.Equal(p.token[:], t[:]) {
			return true
		}
	}
	return false
}
