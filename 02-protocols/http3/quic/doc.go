// Package quic is QUIC version 1 written by hand at teaching scale: the
// transport of RFC 9000, the TLS mapping of RFC 9001 (the handshake runs
// in crypto/tls's QUIC API), and the loss recovery and congestion control
// of RFC 9002. It talks to real implementations over real UDP sockets:
// golang.org/x/net/quic, quic-go, ngtcp2 and Chromium (see the README).
//
//	ep, _ := quic.Listen("udp", "127.0.0.1:4433", &quic.Config{TLSConfig: tc})
//	conn, _ := ep.Accept(ctx)          // handshake done
//	s, _ := conn.AcceptStream(ctx)     // a *quic.Stream reads like a net.Conn
//
//	conn, _ := quic.Dial(ctx, "udp", "127.0.0.1:4433", &quic.Config{TLSConfig: tc})
//	s, _ := conn.OpenStream(ctx)
//	s.Write(req); s.CloseWrite(); io.ReadAll(s)
//
// # On the wire
//
// A UDP datagram carries one or more packets (coalesced, Section 12.2).
// Until the handshake is done they have long headers; afterwards a short
// one (Section 17):
//
//	Long header (Initial, 0-RTT, Handshake, Retry)
//	+-+-+-+-+-+-+-+-+
//	|1|1|T T|R R|P P|   T: type, R: reserved (0), P: packet number length - 1
//	+-+-+-+-+-+-+-+-+---------------------------------------------+
//	|                     Version (32) = 0x00000001               |
//	+-+-+-+-+-+-+-+-+---------------------------------------------+
//	| DCID Len (8)  |  Destination Connection ID (0..160)   ...
//	| SCID Len (8)  |  Source Connection ID (0..160)        ...
//	| [Initial: Token Length (i), Token]
//	| Length (i): packet number + payload + 16-byte tag
//	| Packet Number (8..32) | Protected Payload (frames + tag) ...
//
//	Short header (1-RTT)
//	+-+-+-+-+-+-+-+-+
//	|0|1|S|R R|K|P P|   S: spin bit, K: key phase
//	+-+-+-+-+-+-+-+-+
//	| Destination Connection ID (this endpoint's ids are 8 bytes)
//	| Packet Number (8..32) | Protected Payload ...
//
// Numbers are variable-length integers (Section 16): the top two bits of
// the first byte give the length, 1, 2, 4 or 8 bytes (varint.go). The
// payload is a sequence of frames, each starting with its type (frame.go):
//
//	PADDING 0x00  PING 0x01  ACK 0x02-0x03  RESET_STREAM 0x04
//	STOP_SENDING 0x05  CRYPTO 0x06  NEW_TOKEN 0x07  STREAM 0x08-0x0f
//	MAX_DATA 0x10  MAX_STREAM_DATA 0x11  MAX_STREAMS 0x12-0x13
//	DATA_BLOCKED 0x14  STREAM_DATA_BLOCKED 0x15  STREAMS_BLOCKED 0x16-0x17
//	NEW_CONNECTION_ID 0x18  RETIRE_CONNECTION_ID 0x19
//	PATH_CHALLENGE 0x1a  PATH_RESPONSE 0x1b  CONNECTION_CLOSE 0x1c-0x1d
//	HANDSHAKE_DONE 0x1e
//
// # Files
//
//   - varint.go, packet.go, frame.go, params.go: the encodings (RFC 9000,
//     Sections 16-19), each decoder bounded by the bytes it has and fuzzed.
//   - protection.go: packet and header protection (RFC 9001, Section 5)
//     with crypto/hkdf, crypto/aes and crypto/cipher; the Initial secrets,
//     the sample packets and the Retry tag of RFC 9001 Appendix A are the
//     tests. keyupdate.go: key phases (Section 6), either side may update.
//   - conn_tls.go: the handshake through tls.QUICClient/QUICServer: CRYPTO
//     data per encryption level (the ClientHello with X25519MLKEM768 spans
//     two Initial packets), transport parameters checked both ways
//     (Section 7.3), HANDSHAKE_DONE and key discard (RFC 9001, 4.1.2 and
//     4.9), session tickets carrying the parameters 0-RTT needs (7.4.1).
//   - conn.go, conn_recv.go, conn_send.go: one goroutine per connection
//     owns its state; packets are built per space and coalesced, client
//     Initials padded to 1200 bytes, the server bounded to three times what
//     it received until the client's address is validated (Section 8.1).
//   - stream.go, streams.go, buffers.go, flow.go: streams both ways, both
//     directions, offsets reassembled in order, FIN and final size,
//     RESET_STREAM and STOP_SENDING, flow control per stream and per
//     connection, stream limits (Sections 2-4).
//   - recovery.go, congestion.go, space.go: RFC 9002 as its pseudocode
//     reads (Appendices A and B): ACK ranges and ACK delay, loss by packet
//     and time threshold, probe timeouts, frames (not packets) sent again,
//     NewReno with a pacer, persistent congestion.
//   - cid.go, path.go: connection ids (NEW_CONNECTION_ID,
//     RETIRE_CONNECTION_ID), the peer's address changes (a NAT rebinding,
//     or a client moving to a new port) followed after PATH_CHALLENGE and
//     PATH_RESPONSE validate the new path (Section 9), a one-step path MTU
//     probe (Section 14.3).
//   - endpoint.go, token.go: the UDP socket, routing by connection id,
//     Version Negotiation for unknown versions (Section 6), Retry with an
//     address validation token (8.1.2), stateless resets (10.3).
//
// # 0-RTT
//
// A client with a tls.Config.ClientSessionCache keeps the tickets servers
// send; with DialEarly and a ticket that allows early data, streams opened
// at once send their data in 0-RTT packets. A server accepts early data
// only with Config.Allow0RTT, and only if its limits did not shrink since
// the ticket; Stream.Early tells the application which requests arrived
// in 0-RTT, as they may be replays (RFC 9001, Section 9.2). If the server
// refuses, the engine sends the data again in 1-RTT packets and
// Conn.EarlyDataRejected reports it.
//
// # Left out at teaching scale
//
//   - TLS_CHACHA20_POLY1305_SHA256: the standard library exposes no
//     ChaCha20, which header protection needs as a raw stream cipher. If
//     TLS negotiates it (a peer offering only ChaCha20; crypto/tls prefers
//     AES-GCM otherwise) the handshake fails with CRYPTO_ERROR
//     handshake_failure and the reason ErrChaCha20 gives.
//   - ECN, the spin bit, a preferred address (a client ignores the
//     server's), NEW_TOKEN for future connections (tokens received are
//     ignored, none are sent), QUIC version 2, the datagram extension,
//     active migration by this engine's client (it follows a peer that
//     migrates, and survives a NAT rebinding of its own port), and full
//     DPLPMTUD (one probe to the configured size, then 1200 or that size).
//   - Only packets that fail authentication are dropped silently; the
//     anti-amplification limit, stateless resets and the closing state
//     are rate-limited as RFC 9000 asks, but there is no further DoS
//     hardening (a connection costs a goroutine).
package quic
