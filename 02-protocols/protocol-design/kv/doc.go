// Package kv is a small binary request-response protocol for a key-value
// store, designed to show the properties lecture 17 lists, with a text
// twin (one JSON object per line) carrying the same messages.
//
// # Binary wire format
//
// Every message is one frame: a fixed 12-byte header, then a body whose
// length the header gives. All integers are big-endian (network order).
//
//		 0       1       2       3       4               8              12
//		+-------+-------+-------+-------+---------------+---------------+
//		|version| type  |status | rsvd  |  request id   |  body length  |
//		+-------+-------+-------+-------+---------------+---------------+
//		| key length (2) | key ... | ttl ms (4, v2 SET only) | value ...  |
//		+----------------+---------+------------------------+------------+
//
//	  - version: 1 or 2. The header's layout is the same in every version,
//	    so a peer that does not know a version can still find the request id
//	    and the end of the frame, skip the body, answer
//	    StatusUnsupportedVersion with its own highest version, and keep the
//	    connection. This invariant is what makes a version bump survivable.
//	  - type: GET 1, SET 2, DELETE 3; a reply is its request's type | 0x80.
//	  - status: 0 in requests; in replies see Status.
//	  - rsvd: sent as zero and ignored on receipt, so a later version may use
//	    it without breaking this one.
//	  - request id: chosen by the client, echoed in the reply. Replies may
//	    come back in any order; the id is how a client matches them.
//	  - body length: at most MaxBody. A longer one is a framing error: the
//	    receiver cannot skip it safely and closes the connection.
//	  - key: at most MaxKey bytes; value: at most MaxValue bytes, taking the
//	    rest of the body. Version 2 adds a 4-byte time-to-live in
//	    milliseconds to SET, between key and value.
//
// Length-prefixed framing means a reader knows, after 12 bytes, exactly
// how many more to wait for: a partial read (TCP delivers a byte stream,
// see FrameLen) is never mistaken for a message.
//
// # Text twin
//
// The same messages, one JSON object per line (at most MaxLine bytes):
//
//	{"v":1,"type":"get","id":7,"key":"user:42"}
//	{"v":1,"type":"get-reply","id":7,"status":"ok","value":"Ada"}
//
// Text values must be valid UTF-8; a binary value has no direct JSON
// form. See AppendJSON and DecodeJSON.
//
// # What it leaves out
//
// This is a teaching protocol, not a standard: there is no RFC. It has no
// authentication, no checksum (TCP's, and TLS's, cover it), no flow control
// beyond TCP's, no compression, and no negotiation message: versions are
// handled per message as above. Its layout follows the habits of the
// binary protocols in this repo (a fixed header with a length, RFC 9113
// section 4.1 for HTTP/2; network byte order, RFC 791 section 3.1).
package kv
