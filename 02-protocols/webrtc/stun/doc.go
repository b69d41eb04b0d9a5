// Package stun is STUN, Session Traversal Utilities for NAT (RFC 8489),
// written by hand: messages and attributes, message integrity and
// fingerprints, a Binding server on UDP and TCP, and a client that
// retransmits on the RFC's schedule.
//
// A message is a 20-byte header and TLV attributes, each padded to four
// bytes (RFC 8489 section 5, section 14):
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|0 0|     Message Type (method+class) |       Message Length      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Magic Cookie 0x2112A442                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Transaction ID (96 bits)                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Attribute Type        |      Attribute Length         |
//	|                  Value, padded to 32 bits ...                 |
//
// The type interleaves a 12-bit method (Binding is 0x001) with a 2-bit
// class: request 0b00, indication 0b01, success 0b10, error 0b11, so a
// Binding request is 0x0001 and its success response 0x0101.
//
// Implemented: the header and class/method bits; MAPPED-ADDRESS and
// XOR-MAPPED-ADDRESS for IPv4 and IPv6 (14.1, 14.2); USERNAME (14.3);
// MESSAGE-INTEGRITY with HMAC-SHA1 and MESSAGE-INTEGRITY-SHA256 (14.5,
// 14.6), with the short-term key (9.1.1) and the long-term MD5 key (9.2.2,
// given an already-prepared password: OpaqueString/SASLprep processing is
// left to the caller); FINGERPRINT, CRC-32 XOR 0x5354554e (14.7);
// ERROR-CODE (14.8), REALM, NONCE, UNKNOWN-ATTRIBUTES (14.13), SOFTWARE
// (14.14); the ICE attributes PRIORITY, USE-CANDIDATE, ICE-CONTROLLED and
// ICE-CONTROLLING (RFC 8445 section 16) are known so ICE checks are not
// refused, and ice.go adds and reads them (with 487 Role Conflict) for
// the ICE agent of ../ice. A Binding server answers with XOR-MAPPED-ADDRESS, SOFTWARE and
// FINGERPRINT, refuses unknown comprehension-required attributes with 420
// and UNKNOWN-ATTRIBUTES (6.3.1), and can check short-term credentials
// (9.1.3: 400, 401). Over TCP, messages are framed by their own length
// (6.2.2). The client retransmits over UDP with RTO doubling, Rc requests
// and a final wait of Rm*RTO (6.2.1), and times out after Ti over TCP.
//
// Left out at teaching scale: the long-term mechanism's nonce and realm
// challenge dance (9.2), USERHASH and PASSWORD-ALGORITHMS, ALTERNATE-SERVER,
// DNS discovery, TLS and DTLS transports, RFC 3489 compatibility, and
// caching the RTO between transactions.
//
// Decode bounds everything it reads: a message is at most MaxMessage
// bytes and MaxAttributes attributes, and every attribute length is
// checked against the bytes that are really there.
package stun
