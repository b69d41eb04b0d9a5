// Package clienthello reads the first flight of a TLS connection far
// enough to route it: the server name (SNI) and the application protocols
// (ALPN) of the ClientHello, which travel in the clear before any key
// exists. An L4 balancer peeks at them, picks a backend, and then passes
// every byte it read through untouched, so the TLS session stays between
// the client and the backend.
//
// The bytes, record layer first (RFC 8446 section 5.1):
//
//	TLSPlaintext          type(1)=22 handshake  legacy_record_version(2)
//	                      length(2) <= 2^14     fragment[length]
//	Handshake (4)         msg_type(1)=1 client_hello  length(3)
//	ClientHello (4.1.2)   legacy_version(2)  random(32)
//	                      legacy_session_id<0..32>      1-byte length
//	                      cipher_suites<2..2^16-2>      2-byte length
//	                      legacy_compression_methods<1..2^8-1>
//	                      extensions<8..2^16-1>         2-byte length
//	Extension (4.2)       extension_type(2)  extension_data<0..2^16-1>
//
// and the three extensions read here:
//
//	server_name (0)         ServerNameList<1..2^16-1> of
//	  RFC 6066 section 3      name_type(1)=0 host_name  HostName<1..2^16-1>
//	ALPN (16)               ProtocolNameList<2..2^16-1> of
//	  RFC 7301 section 3.1    ProtocolName<1..2^8-1>
//	supported_versions (43) ProtocolVersion versions<2..254>
//	  RFC 8446 section 4.2.1
//
// A handshake message may be split across records, and records carry no
// other type until it is complete (section 5.1); Read reassembles it and
// returns, with the parsed Hello, exactly the bytes it consumed, for the
// caller to send on first.
//
// Every length is bounded: a record by 2^14 bytes, the whole message by
// MaxLen (64 KiB, as crypto/tls). The parser checks the structure every
// length prefix implies, that no extension appears twice (4.2), and the
// rules of the three extensions it reads (one host_name, no trailing dot,
// no empty protocol name). It does not judge fields a router has no use
// for (cipher suites, compression, the session id's length, other
// extensions): the backend that terminates TLS does, and answers a bad
// one with its own alert.
//
// Left out at teaching scale: SSL 2.0-compatible hellos; TLS over QUIC,
// where the same message rides in CRYPTO frames (Parse reads the message
// itself, as the RFC 9001 test vector shows); and Encrypted Client Hello,
// with which the name seen here is the outer, public one (Hello.ECH says
// when a client used it).
package clienthello
