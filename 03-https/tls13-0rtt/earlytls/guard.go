package earlytls

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"sync"
	"time"
)

// TicketGuard makes a server's tickets single-use for early data, the
// anti-replay defence of RFC 8446 Section 8.1: every ticket the server
// issues carries a random identifier and its time of issue (in the session
// state, which the server encrypts into the ticket), and the guard
// remembers each identifier that has carried early data. A second
// ClientHello with the same ticket, such as a copy an attacker captured
// and replays, still resumes the session, but its early data is refused
// and skipped, so the request in it never reaches the application.
//
// It works through crypto/tls's session hooks (Protect), so it serves any
// server whose handshake is crypto/tls's: this package's, and a QUIC
// server's (tls.Config.WrapSession and UnwrapSession are consulted in the
// QUIC API too).
//
// A ticket older than TTL may not carry early data at all, so the guard
// forgets identifiers after TTL without re-opening a replay window; when
// it holds Max identifiers it refuses early data (fails closed) until old
// ones expire. One guard serves every connection of a server and is safe
// for concurrent use; servers behind a load balancer would need one
// shared store, which this is not.
type TicketGuard struct {
	// Max bounds the identifiers remembered; 0 means 100000.
	Max int
	// TTL bounds a ticket's age for early data; 0 means one hour.
	TTL time.Duration

	mu      sync.Mutex
	seen    map[[16]byte]time.Time // identifier -> time of issue
	order   [][16]byte             // oldest admitted first
	refused int
}

// ticketTag marks the session state's extra data as the guard's.
var ticketTag = []byte("earlytls ticket id:")

// idLen is the size of the extra data: tag, identifier, issue time.
var idLen = len(ticketTag) + 16 + 8

func (g *TicketGuard) max() int {
	if g.Max > 0 {
		return g.Max
	}
	return 100000
}

func (g *TicketGuard) ttl() time.Duration {
	if g.TTL > 0 {
		return g.TTL
	}
	return time.Hour
}

// Protect installs the guard on a server's TLS configuration: random
// session ticket keys (set once here, so that every clone of cfg, such as
// the one a QUIC endpoint makes, seals and opens the same tickets), a
// WrapSession that adds the guard's identifier to each new ticket, and an
// UnwrapSession that refuses early data on a ticket seen before.
func (g *TicketGuard) Protect(cfg *tls.Config) error {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return err
	}
	cfg.SetSessionTicketKeys([][32]byte{key})
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, g.newID())
		return cfg.EncryptTicket(cs, ss)
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := cfg.DecryptTicket(identity, cs)
		if ss != nil && ss.EarlyData && !g.admit(ss.Extra) {
			ss.EarlyData = false
		}
		return ss, err
	}
	return nil
}

// newID returns the extra data for a new ticket.
func (g *TicketGuard) newID() []byte {
	b := make([]byte, idLen)
	copy(b, ticketTag)
	rand.Read(b[len(ticketTag) : len(ticketTag)+16])
	binary.BigEndian.PutUint64(b[len(ticketTag)+16:], uint64(time.Now().UnixNano()))
	return b
}

// admit reports whether a resumed session may carry early data, and
// remembers its ticket's identifier if so.
func (g *TicketGuard) admit(extra [][]byte) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	var id [16]byte
	var issued time.Time
	for _, e := range extra {
		if len(e) == idLen && bytes.HasPrefix(e, ticketTag) {
			copy(id[:], e[len(ticketTag):])
			issued = time.Unix(0, int64(binary.BigEndian.Uint64(e[len(ticketTag)+16:])))
		}
	}
	now := time.Now()
	for len(g.order) > 0 && now.Sub(g.seen[g.order[0]]) > g.ttl() {
		delete(g.seen, g.order[0])
		g.order = g.order[1:]
	}
	_, dup := g.seen[id]
	if issued.IsZero() || now.Sub(issued) > g.ttl() || dup || len(g.order) >= g.max() {
		g.refused++
		return false
	}
	if g.seen == nil {
		g.seen = make(map[[16]byte]time.Time)
	}
	g.seen[id] = issued
	g.order = append(g.order, id)
	return true
}

// Refused returns how many times the guard has refused early data.
func (g *TicketGuard) Refused() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refused
}
