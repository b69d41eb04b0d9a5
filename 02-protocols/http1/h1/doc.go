// Package h1 is HTTP/1.1 written by hand (RFC 9112, with the semantics of
// RFC 9110 it needs): a request and response parser, a server, a client
// connection, and an adapter that runs net/http handlers on the server.
//
// A message on the wire is a start line, field lines, an empty line and
// an optional body, every line ended by CRLF:
//
//	POST /upload HTTP/1.1\r\n            request-line (section 3)
//	Host: example.com\r\n                field lines (section 5)
//	Transfer-Encoding: chunked\r\n
//	\r\n                                 end of the head
//	5;ext=1\r\n                          chunk-size [ chunk-ext ] (section 7.1)
//	Hello\r\n                            chunk-data
//	0\r\n                                last-chunk
//	X-Checksum: 42\r\n                   trailer-section (section 7.1.2)
//	\r\n
//
//	HTTP/1.1 200 OK\r\n                  status-line (section 4)
//	Content-Length: 5\r\n                or chunked, or until close (6.3)
//	\r\n
//	Hello
//
// # Safe by construction
//
// Request smuggling lives in the gap between two parsers that disagree
// about where a message ends. The parser closes that gap by refusing,
// with a 400 and a closed connection, every message that RFC 9112 lets
// a recipient read more than one way: Content-Length together with
// Transfer-Encoding (section 6.1), differing or malformed Content-Length
// values (section 6.3), a transfer coding list whose final coding is not
// chunked, chunked applied twice, Transfer-Encoding in HTTP/1.0, obs-fold
// (section 5.2), whitespace before a colon (section 5.1), a bare CR or a
// bare LF as a line end (section 2.2), and any byte outside the grammar in
// a method, target, field name or value, chunk size or chunk extension.
// Codings other than chunked get 501. A request without exactly one Host
// is a 400 (section 3.2). Every length the peer controls is bounded (see
// Limits): request line (414), header bytes and field count (431), body
// (413), chunk line. FuzzReadRequest checks the property that matters:
// wherever this parser and net/http's both accept a request, they agree
// on its body byte for byte.
//
// Deadlines, per connection (Server): a header timeout from a request's
// first byte to the end of its head stops slow-loris clients, a body
// timeout bounds a slow upload, an idle timeout ends unused keep-alive
// connections, and a write timeout bounds a client that stops reading.
//
// # Fast
//
// A Reader keeps its line buffer between messages and records where each
// field sits; when the head is complete it is copied into one string and
// every Field is a substring of it. Reading a request head therefore
// costs two allocations (the Request, which holds room for 16 fields, and
// that string), where net/http's ReadRequest spends one per field and
// then some; BenchmarkReadRequest measures both in one run. Header is a
// slice, not a map: lookups are linear and case-insensitive, which is
// faster than hashing for the dozen fields a request carries.
//
// # What it leaves out
//
// Transfer codings other than chunked (gzip, deflate) are refused, not
// decoded. The server answers requests on a connection one at a time, so
// pipelined requests are read ahead but handled in order (section 9.3.2
// allows no more). CONNECT tunnels and Upgrade are left to the handler
// through Hijack. The client has no connection pool, redirects, proxies,
// cookies or TLS: it is one connection, the protocol and nothing else.
// Interim responses other than 100 are skipped by the client and never
// sent by the server. Field values are passed through as octets; the
// parser does not decode obs-text or quoted strings inside them.
package h1
