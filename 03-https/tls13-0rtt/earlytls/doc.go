// Package earlytls is TLS 1.3 over TCP with 0-RTT early data, at teaching
// scale: the handshake is crypto/tls's, run through its QUIC API (the only
// place Go supports early data), and the record layer that carries it over
// the byte stream is written here (RFC 8446 Sections 5 and 7.3).
//
// Go's tls.Conn refuses early data on TCP: a server rejects it ("client
// sent unexpected early data") and a client marks every ticket unfit for
// it. The QUIC API does the whole 0-RTT handshake (tickets that allow
// early data, the early traffic secret, acceptance or refusal) and hands
// the application each handshake message with its encryption level, and
// each traffic secret as it is derived. QUIC would put them in CRYPTO
// frames; Conn puts them in TLS records instead:
//
//	TLSPlaintext (Initial level: ClientHello, ServerHello)
//	+------+---------+---------+------------------------------+
//	| type | 0x0303  | length  | handshake messages           |
//	|  22  | 2 bytes | 2 bytes | <= 2^14 bytes                |
//	+------+---------+---------+------------------------------+
//
//	TLSCiphertext (every other level)
//	+------+---------+---------+----------------------------------------+
//	|  23  | 0x0303  | length  | AEAD(content | inner type | zeros)     |
//	|      |         |         | <= 2^14 + 256 bytes, tag included      |
//	+------+---------+---------+----------------------------------------+
//	 the 5-byte header is the AEAD's additional data; the nonce is the
//	 IV XOR the record's sequence number, which restarts at 0 with each
//	 new secret; key and IV come from the traffic secret by
//	 HKDF-Expand-Label("key"/"iv") (Section 7.3)
//
// A client resuming with a ticket that allows early data sends, in one
// TCP write (in the SYN itself with TCP Fast Open):
//
//	ClientHello                       plaintext, with early_data and a PSK
//	(application data)                client_early_traffic_secret
//	                   <-- ServerHello plaintext
//	                       {EncryptedExtensions ... Finished}
//	                       [0.5-RTT data: the response]
//	{Finished}                        client_handshake_traffic_secret
//	[application data]                client_application_traffic_secret_0
//	                   <-- [NewSessionTicket]
//
// What it does: full handshakes and resumption; early data on a client
// (Write before the handshake, up to Config.MaxEarlyData, the first Write
// coalesced with the ClientHello, and sent again under the application key
// if the server refuses it); early data on a server (Read returns it before
// the handshake completes, InEarlyData says so, so an HTTP server can
// refuse unsafe methods with 425 Too Early, RFC 8470); 0.5-RTT data from a
// server; refused early data skipped by trial decryption (Section 4.2.10);
// single-use tickets for early data against replays (TicketGuard, Section
// 8.1); close_notify; alerts for bad input (record_overflow,
// bad_record_mac, unexpected_message, decode_error); bounds on every
// length and on early data. It writes CLIENT_EARLY_TRAFFIC_SECRET to the
// key log, which crypto/tls does not, so Wireshark can read the 0-RTT data.
//
// # Where it departs from RFC 8446, and why
//
//   - No EndOfEarlyData. Over QUIC the message does not exist (RFC 9001
//     Section 8.3), so the QUIC API neither sends it nor expects it, and it
//     would have to be in the handshake transcript that crypto/tls
//     computes. A server here tells the end of early data by trial: the
//     first record that the early key does not open and the handshake key
//     does is the client's Finished.
//   - Every hello carries a quic_transport_parameters extension (empty),
//     which the QUIC API sends and requires. So no independent TLS-over-TCP
//     stack interoperates with this one: OpenSSL's s_client is refused with
//     a missing_extension alert, and this client refuses OpenSSL's
//     s_server ("server did not send a quic_transport_parameters
//     extension"); interop_test.go checks both. Between two earlytls peers
//     the handshake is crypto/tls's, unchanged.
//   - No middlebox compatibility mode (no dummy ChangeCipherSpec, an empty
//     legacy_session_id, as the QUIC API makes them); one ChangeCipherSpec
//     from a peer is accepted and dropped.
//   - ALPN is mandatory (the QUIC API insists), and a client must set
//     ServerName (crypto/tls keys its session cache by it).
//   - AES-GCM suites only: the standard library exports no
//     ChaCha20-Poly1305, so a handshake that picks
//     TLS_CHACHA20_POLY1305_SHA256 (a peer without AES hardware) fails
//     with an error naming the suite.
//   - No KeyUpdate, no post-handshake authentication, no record padding
//     on send (padding received is removed).
//   - A HelloRetryRequest after a ClientHello that offered early data
//     fails: Go 1.26's crypto/tls QUIC client computes the second
//     ClientHello's PSK binder before it removes the early_data extension
//     (processHelloRetryRequest in handshake_client_tls13.go), so the server
//     answers decrypt_error. It happens with the bare QUIC API too; the
//     server side here does the right thing (it skips the early records
//     that follow the first ClientHello). Full handshakes with a
//     HelloRetryRequest, and resumption without early data, work.
//   - The early data limit is this package's (Config.MaxEarlyData), not
//     the ticket's max_early_data_size, which the QUIC API fixes at
//     0xffffffff.
//
// # How it is checked
//
// record_test.go: the protected records of RFC 8448 Section 3 (both
// directions, handshake and application keys, a non-zero sequence number)
// are opened and sealed back into the same bytes, and the handshake
// traffic keys are derived from the trace's secrets. interop_test.go: the
// record layer opens every record a standard crypto/tls client and server
// wrote, and a record it seals is read by crypto/tls's server; OpenSSL is
// refused as described above. tshark (Wireshark's TLS dissector) decrypts
// the tls13-0rtt demo's capture with its key log and finds the GET inside
// the ClientHello's packet (03-https/tls13-0rtt, TestTsharkReadsEarlyData).
// fuzz_test.go feeds clients and servers arbitrary bytes. conn_test.go
// replays a captured first flight with and without a TicketGuard.
package earlytls
