// Package ice is Interactive Connectivity Establishment (RFC 8445) at
// teaching scale, with the pieces of SDP it travels in: candidates as
// RFC 8839 writes them, session descriptions in the shape of RFC 8866,
// and an agent that gathers candidates, runs connectivity checks with
// the STUN engine next door (../stun), nominates a pair, and carries
// datagrams over it.
//
// Two peers exchange descriptions through a signaling channel; the ICE
// parts of one look like this (RFC 8839 section 5):
//
//	v=0
//	o=- 3724394400 1 IN IP4 10.0.0.1
//	s=-
//	t=0 0
//	m=application 40000 udp octet-stream
//	c=IN IP4 10.0.0.1
//	a=ice-ufrag:8hhY                          4 to 256 ice-chars
//	a=ice-pwd:asd88fgpdd777uzjYhagZg          22 to 256 ice-chars
//	a=candidate:1 1 UDP 2130706431 10.0.0.1 40000 typ host
//	a=candidate:2 1 UDP 1694498815 10.0.1.1 40000 typ srflx raddr 10.0.0.1 rport 40000
//	             |  | |   |          |        |        |           related address:
//	    foundation  | |   priority   address  port     type        the base
//	       component transport
//
// A candidate's priority is 2^24*type preference + 2^8*local preference
// + (256 - component) (section 5.1.2.1), with type preferences host 126,
// peer-reflexive 110, server-reflexive 100, relayed 0. Each agent pairs
// its base with every remote candidate; a pair's priority is
// 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0), G and D being the controlling
// and controlled agents' candidates' priorities (6.1.2.3).
//
// A connectivity check is a STUN Binding request from the base to the
// remote candidate (section 7.2):
//
//	USERNAME             remote ufrag ":" local ufrag
//	PRIORITY             our priority were we peer-reflexive (type 110)
//	ICE-CONTROLLING or   the role, with a 64-bit random tiebreaker
//	ICE-CONTROLLED
//	USE-CANDIDATE        only from the controlling agent, to nominate
//	MESSAGE-INTEGRITY    HMAC-SHA1 keyed with the remote password
//	FINGERPRINT          always
//
// The answer is signed with the same password and carries the address
// the check came from (XOR-MAPPED-ADDRESS). A success makes a valid
// pair of that mapped address and the remote candidate; a mapped
// address the agent does not know is a new, peer-reflexive, candidate.
// A check that arrives makes the agent check back at once (a triggered
// check, 7.3.1.4): that is what opens two NATs to each other, since each
// side's outgoing check creates the mapping the other's needs. The
// controlling agent then repeats the check of its best valid pair with
// USE-CANDIDATE; when that succeeds both agents select the pair.
//
// # What is implemented
//
// Candidates: parsing and formatting (RFC 8839 5.1) with bounds on the
// line, every field checked, host names (browsers' mDNS names) and TCP
// candidates parsed and then skipped by the agent. Session descriptions:
// Parse and Marshal of the RFC 8866 line format, with its first-line
// order, the line types allowed at each level, m= fields, and bounds on
// size, lines and media sections; ICE reads ice-ufrag, ice-pwd,
// ice-lite, ice-options and candidates. The agent: host and
// server-reflexive gathering (5.1.1) with redundant candidates dropped
// (5.1.3); pair priorities, sorting and pruning to the base (6.1.2);
// checks paced by Ta with the triggered-check queue first (6.1.4); the
// STUN client and server procedures (7.2, 7.3) with peer-reflexive
// candidates learned both ways, symmetric-address checking, role
// conflicts answered with 487 and repaired (7.2.5.1, 7.3.1.1), and
// retransmissions doubling from RTO (500 ms) for Rc sends; regular
// nomination by the controlling agent (8.1.1), and data on the selected
// pair, demultiplexed from STUN by the first bytes (12).
//
// # What it leaves out
//
// TURN and relayed candidates; more than one data stream or component
// (so no Frozen state: every pair starts Waiting); more than one host
// address (the agent has exactly one base, the socket it is given);
// ICE restarts (9), keepalives (11) and consent freshness (RFC 7675);
// ice-lite as an implementation, and any special case for a lite peer; the
// end-of-candidates signal; SDP semantics beyond ICE (codecs, bundles,
// DTLS fingerprints): Parse keeps those lines and Marshal writes them
// back, nothing interprets them.
package ice
