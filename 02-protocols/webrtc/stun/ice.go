package stun

import (
	"encoding/binary"
	"fmt"
)

// The attributes ICE adds to Binding requests for its connectivity
// checks (RFC 8445 sections 7.1 and 16.1), and its error code.

// CodeRoleConflict is 487: both agents claimed the same role (RFC 8445
// section 7.3.1.1).
const CodeRoleConflict = 487

// AddPriority adds PRIORITY: the priority the sender's candidate would
// have as a peer-reflexive one (RFC 8445 section 7.1.1).
func (m *Message) AddPriority(p uint32) {
	m.Add(AttrPriority, binary.BigEndian.AppendUint32(nil, p))
}

// Priority returns PRIORITY.
func (m *Message) Priority() (uint32, error) {
	v, ok := m.Get(AttrPriority)
	if !ok || len(v) != 4 {
		return 0, fmt.Errorf("%w: PRIORITY", ErrAttribute)
	}
	return binary.BigEndian.Uint32(v), nil
}

// AddUseCandidate adds USE-CANDIDATE, the controlling agent's nomination
// of the pair a check runs on (RFC 8445 section 7.1.2). It has no value.
func (m *Message) AddUseCandidate() { m.Add(AttrUseCandidate, nil) }

// UseCandidate reports whether the message carries USE-CANDIDATE.
func (m *Message) UseCandidate() bool {
	_, ok := m.Get(AttrUseCandidate)
	return ok
}

// AddICERole adds ICE-CONTROLLING (controlling true) or ICE-CONTROLLED
// with the agent's 64-bit tiebreaker (RFC 8445 section 7.1.3).
func (m *Message) AddICERole(controlling bool, tiebreaker uint64) {
	t := AttrICEControlled
	if controlling {
		t = AttrICEControlling
	}
	m.Add(t, binary.BigEndian.AppendUint64(nil, tiebreaker))
}

// ICERole returns which role attribute the message carries and its
// tiebreaker; ok is false if it has neither (or a malformed one).
func (m *Message) ICERole() (controlling bool, tiebreaker uint64, ok bool) {
	if v, found := m.Get(AttrICEControlling); found && len(v) == 8 {
		return true, binary.BigEndian.Uint64(v), true
	}
	if v, found := m.Get(AttrICEControlled); found && len(v) == 8 {
		return false, binary.BigEndian.Uint64(v), true
	}
	return false, 0, false
}
