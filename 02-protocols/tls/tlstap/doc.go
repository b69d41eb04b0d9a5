// Package tlstap watches a TLS connection from the middle without
// decrypting it: a proxy that forwards the bytes both ways and decodes the
// record layer as they pass, and the hello messages while they are still
// in the clear.
//
// Every TLS record starts with a 5-byte header (RFC 8446 section 5.1,
// RFC 5246 section 6.2.1):
//
//	 0        1        2        3        4        5
//	+--------+--------+--------+--------+--------+---------------------+
//	|  type  |  legacy version |     length      | fragment (length)   |
//	+--------+--------+--------+--------+--------+---------------------+
//
//	type: 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data
//
// A handshake record's fragment holds handshake messages, each with a
// 4-byte header: type (1 byte) and length (3 bytes), and may split or
// coalesce them (RFC 8446 section 5.1). The tap reassembles them while the
// direction is unencrypted and reads the ClientHello and ServerHello
// (sections 4.1.2 and 4.1.3): offered and chosen versions
// (supported_versions, 4.2.1), cipher suite, key-share groups (4.2.8),
// server name (RFC 6066 section 3), ALPN (RFC 7301) and pre_shared_key
// (4.2.11), which is how resumption shows on the wire.
//
// What is readable depends on the version. In TLS 1.2 handshake messages
// stay in the clear until a side sends change_cipher_spec; its Finished
// travels encrypted in a handshake record. In TLS 1.3 everything after the
// ServerHello is encrypted and disguised as application_data (section
// 5.2); the change_cipher_spec records a 1.3 peer sends are only for
// middlebox compatibility (appendix D.4).
//
// Bounds: a record longer than 2^14+2048 bytes (RFC 5246 6.2.3, the
// loosest limit), an unknown content type or a major version other than 3
// stops decoding with an error; a handshake message longer than
// MaxHandshake does too. The proxy keeps forwarding either way.
//
// Left out: SSLv2-compatible hellos, DTLS, QUIC (which carries TLS
// messages in CRYPTO frames, not records), Encrypted Client Hello's inner
// hello, and every extension not named above.
package tlstap
