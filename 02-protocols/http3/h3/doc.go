// Package h3 is HTTP/3 (RFC 9114) and QPACK (RFC 9204) written by hand on
// the quic engine: a Server that serves any http.Handler, and a Transport
// whose RoundTrip lets net/http code run over HTTP/3 unchanged.
//
//	srv := &h3.Server{Handler: mux, TLSConfig: tc}
//	go srv.ListenAndServe("127.0.0.1:4433")
//
//	client := &http.Client{Transport: &h3.Transport{TLSClientConfig: tc}}
//	resp, err := client.Get("https://127.0.0.1:4433/")
//
// # On the wire
//
// Each request uses one client-initiated bidirectional QUIC stream: a
// HEADERS frame, DATA frames, optionally trailers in a second HEADERS
// frame, then FIN; the response comes back the same way on the same
// stream. Each side also opens three unidirectional streams: control
// (SETTINGS first, then GOAWAY), QPACK encoder and QPACK decoder.
//
//	Frame {                        Unidirectional stream {
//	  Type (i),                      Stream Type (i),  0x00 control,
//	  Length (i),                                     0x02 QPACK encoder,
//	  Payload (..),                                   0x03 QPACK decoder
//	}                                ...
//	                               }
//	DATA 0x00  HEADERS 0x01  CANCEL_PUSH 0x03  SETTINGS 0x04
//	PUSH_PROMISE 0x05  GOAWAY 0x07  MAX_PUSH_ID 0x0d
//	reserved 0x1f*N+0x21: ignored, as are unknown types
//
// A HEADERS payload is a QPACK field section (qpack.go):
//
//	Required Insert Count (8+) = 0, Sign + Delta Base (7+) = 0, then lines:
//	1 T index(6+)                        indexed, static table (T=1)
//	0 1 N T name-index(4+) H len(7+) v   literal value, static name
//	0 0 1 N H len(3+) name H len(7+) v   literal name and value
//
// Strings are Huffman-coded when that is shorter (the HPACK code, from
// golang.org/x/net/http2/hpack). This endpoint declares a dynamic table
// capacity of 0, so a peer may only use the static table and literals;
// anything else is QPACK_DECOMPRESSION_FAILED. Errors use the codes of
// RFC 9114, Section 8.1 (errors.go): a malformed request resets its stream
// with H3_MESSAGE_ERROR, a broken control stream or a frame where it may
// not be closes the connection (H3_FRAME_UNEXPECTED, H3_MISSING_SETTINGS,
// H3_CLOSED_CRITICAL_STREAM, ...).
//
// # Left out at teaching scale
//
//   - The QPACK dynamic table: never used to encode, refused when
//     decoding (capacity 0 is what the SETTINGS say, RFC 9204,
//     Section 3.2.3).
//   - Server push: no MAX_PUSH_ID is sent, so servers may not push; this
//     server never pushes.
//   - Extended CONNECT (RFC 9220), HTTP datagrams, priorities (RFC 9218):
//     requests are served as they come, responses share the connection
//     round-robin.
package h3
