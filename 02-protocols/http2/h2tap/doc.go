// Package h2tap is a relay that sits between an HTTP/2 client and server
// and decodes every frame it forwards, so a demo can print what net/http
// (or curl, nghttp, grpc-go) actually put on the wire.
//
// The wire format it reads (RFC 9113 sections 3.4 and 4.1): the client
// opens with a 24-byte preface, then both sides send frames, each a
// 9-byte header and a payload:
//
//	client preface  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
//
//	+-----------------------------------------------+
//	|                 Length (24)                   |
//	+---------------+---------------+---------------+
//	|   Type (8)    |   Flags (8)   |
//	+-+-------------+---------------+-------------------------------+
//	|R|                 Stream Identifier (31)                      |
//	+=+=============================================================+
//	|                   Frame Payload (Length bytes)              ...
//	+---------------------------------------------------------------+
//
// Each frame is parsed by golang.org/x/net/http2's Framer (section 6: DATA,
// HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY,
// WINDOW_UPDATE, CONTINUATION). Header blocks, split over HEADERS and
// CONTINUATION frames (section 4.3), are reassembled and decoded with
// golang.org/x/net/http2/hpack, one decoder per direction so the dynamic
// table (RFC 7541 section 2.3.2) evolves exactly as the receiver's does;
// a SETTINGS_HEADER_TABLE_SIZE seen in one direction sets the table size
// allowed in the other (RFC 7541 section 4.2). Frame.BlockLen is the HPACK
// block's size on the wire, the number that shows the dynamic table at work.
//
// With Options.TLS the tap terminates TLS (a certificate from the same
// in-memory CA the client trusts), reads the ALPN protocol the client
// chose, and dials the server offering only that one; "h2" is decoded,
// "http/1.1" relayed as bytes. Without TLS it expects h2c with prior
// knowledge (section 3.3) and relays anything else undecoded.
//
// The tap reads a whole frame, reports it, then forwards it, so a printed
// frame always comes before anything its receiver does in reply. It holds
// at most one frame per direction (at most 16 MiB, the largest a 24-bit
// length allows) and one header block (MaxHeaderBlock).
//
// Recorder keeps what a tap reports, for a demo or a test to wait on
// ("the RST_STREAM has arrived"), and Printer prints frames on a demo's
// timeline, a header block's fields one per line.
//
// What it leaves out: it observes and does not enforce. A peer's
// SETTINGS_MAX_FRAME_SIZE, stream states and flow-control windows are not
// checked (the peers do that and will say so with RST_STREAM or GOAWAY,
// which the tap shows); frames the Framer rejects are reported with
// Frame.Err and forwarded anyway. The h2c upgrade from HTTP/1.1
// (RFC 7540 section 3.2, removed by RFC 9113) is not decoded.
package h2tap
