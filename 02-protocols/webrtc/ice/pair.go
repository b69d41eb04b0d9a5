package ice

import (
	"fmt"
	"time"
)

// PairState is the state of a candidate pair (RFC 8445 section
// 6.1.2.6). This package starts every pair Waiting: with one data
// stream of one component there is nothing for the Frozen state to
// order.
type PairState int

// The pair states.
const (
	Waiting    PairState = iota // not checked yet
	InProgress                  // a check is outstanding
	Succeeded                   // a check got a good response
	Failed                      // a check timed out or was refused
)

func (s PairState) String() string {
	return [...]string{"waiting", "in-progress", "succeeded", "failed"}[s]
}

// Pair is a candidate pair as the agent reports it: a local and a
// remote candidate, the pair's priority, and where its checks stand.
type Pair struct {
	Local, Remote Candidate
	Priority      uint64
	State         PairState
	// Nominated is set on the valid pair both agents will use.
	Nominated bool
	// RTT is the round trip of the check that made the pair valid.
	RTT time.Duration
}

func (p Pair) String() string {
	return fmt.Sprintf("%s <-> %s", p.Local.Short(), p.Remote.Short())
}

// pair is a checklist entry: its local candidate is always the base
// (section 6.1.2.4), and it remembers its transaction and valid pair.
type pair struct {
	Pair
	tx     *transaction
	valid  *Pair // the valid pair this pair's check produced
	queued bool  // in the triggered-check queue
	// nominate: the controlling agent's next check on this pair
	// carries USE-CANDIDATE; the controlled agent selects the valid
	// pair once its check on this pair succeeds (7.3.1.5).
	nominate bool
}

// transaction is one connectivity check in flight.
type transaction struct {
	p        *pair
	wire     []byte
	pwd      string // the remote password that signed the request
	priority uint32 // the PRIORITY sent, for a peer-reflexive candidate
	use      bool   // carried USE-CANDIDATE
	// controlling is the role the request claimed.
	controlling bool
	attempts    int
	last        time.Time     // last transmission
	rto         time.Duration // wait after the last transmission
	next        time.Time     // retransmit, or give up, then
	// cancelled transactions are not retransmitted, and their timeout
	// does not fail the pair (section 7.3.1.4); a response may still
	// come until the next RTO, when the transaction is forgotten.
	cancelled bool
}
