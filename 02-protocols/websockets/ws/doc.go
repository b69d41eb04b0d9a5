// Package ws is the WebSocket protocol written by hand (RFC 6455): the
// opening handshake on top of HTTP/1.1, framing, fragmentation, control
// frames and the close handshake, for clients (Dial) and servers
// (Accept, which works on net/http and, through h1.Adapt, on the
// hand-written HTTP/1.1 server of 02-protocols/http1/h1).
//
// The opening handshake (section 4) is an HTTP/1.1 GET that the server
// answers with 101 and a hash of the client's key:
//
//	GET /chat HTTP/1.1                   HTTP/1.1 101 Switching Protocols
//	Host: server.example.com             Upgrade: websocket
//	Upgrade: websocket                   Connection: Upgrade
//	Connection: Upgrade                  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
//	Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
//	Sec-WebSocket-Version: 13            base64(SHA-1(key + 258EAFA5-...))
//
// After it, both sides exchange frames (section 5.2; see Header for the
// bit layout): FIN, three reserved bits, a 4-bit opcode, a mask bit, a
// 7-bit length extended to 16 or 64 bits, a 4-byte masking key on frames
// from the client, then the payload. A message is one frame, or a first
// frame with FIN clear followed by continuation frames up to one with
// FIN set; pings, pongs and a close may come between them.
//
// # The rules the reader enforces
//
// A Conn fails the connection, with a close frame carrying the code and
// then a TCP close (section 7.1.7), when the peer sets a reserved bit
// without an extension, uses a reserved opcode, fragments a control frame
// or gives it more than 125 bytes, sends a continuation outside a message
// or a new message inside one, masks in the wrong direction (a client
// must mask, a server must not: section 5.1), sets the top bit of a
// 64-bit length, or sends a close frame with one byte, an invalid code
// (section 7.4) or a reason that is not UTF-8: all 1002, except the last,
// 1007. A text message must be UTF-8 (1007), checked as each fragment
// arrives so an invalid message fails before it ends. A frame or message
// over the limits in Options fails with 1009 before its payload is read.
//
// Closing (section 7): Close sends a close frame and waits, bounded, for
// the peer's; a received close is answered with the same code. The server
// closes TCP first; the client waits a moment for it to.
//
// # What it leaves out
//
// No extensions: permessage-deflate (RFC 7692), which browsers offer, is
// declined by not naming it in the 101. A received payload length encoded
// in more bytes than needed is accepted (the minimal-encoding MUST binds
// the sender, and this sender keeps it). Messages are read whole into
// memory, bounded by MaxMessageSize; there is no streaming reader. No
// WebSocket over HTTP/2 (RFC 8441) or HTTP/3 (RFC 9220). The client does
// not follow redirects or use proxies.
package ws
