// Package grpcwire is gRPC written by hand on net/http's HTTP/2: a server
// (an http.Handler) and a client (over an http.RoundTripper) for unary,
// server-streaming, client-streaming and bidirectional calls. It follows
// PROTOCOL-HTTP2.md and statuscodes.md in ../../shared/rfc.
//
// A call is one HTTP/2 stream (RFC 9113 section 5):
//
//	client -> server  HEADERS  :method POST  :scheme http  :path /pkg.Service/Method
//	                           :authority host  content-type application/grpc
//	                           te trailers  grpc-timeout 99m  user-agent ...
//	                           custom metadata; keys ending -bin are base64
//	client -> server  DATA     Length-Prefixed-Message ... (END_STREAM on the last)
//	server -> client  HEADERS  :status 200  content-type application/grpc  metadata
//	server -> client  DATA     Length-Prefixed-Message ...
//	server -> client  HEADERS  grpc-status 0  grpc-message percent-encoded
//	                           trailer metadata (END_STREAM)
//
//	Length-Prefixed-Message, at any offset of the DATA frames:
//	+------------+---------------------------+---------------------+
//	| compressed |  length (4 bytes, big-    |  message (protobuf) |
//	| flag (1)   |  endian)                  |  length bytes       |
//	+------------+---------------------------+---------------------+
//
// A call that fails before it sends anything answers Trailers-Only: one
// HEADERS frame with :status 200, content-type, grpc-status and
// grpc-message, and END_STREAM.
//
// What it does: grpc-timeout in every unit (H M S m u n, at most 8
// digits) becomes the handler's context deadline, and the client sends
// the context's deadline; a client that cancels resets the stream
// (RST_STREAM CANCEL) and the handler's context ends; metadata with
// binary "-bin" values (padded or not, comma-joined or not) both ways,
// in headers and trailers; message size limits (4 MiB received by
// default) with RESOURCE_EXHAUSTED; status codes with percent-encoded
// messages, decoded leniently as the spec requires; cardinality checks
// (a unary method given two requests is UNIMPLEMENTED); a server that
// answers non-gRPC requests with HTTP errors (505 for HTTP/1.x, 415 for
// another content-type, 400 without "te: trailers") and a client that
// synthesizes a status from an HTTP error, a bad content-type, missing
// trailers or an RST_STREAM code (the spec's table).
//
// What it leaves out: compression (grpc-encoding other than identity is
// UNIMPLEMENTED, and the client never offers one), the +json and other
// codecs, retries, load balancing and name resolution, keepalive policy
// (net/http's HTTP2Config has PING settings), server reflection, and
// grpc-status-details-bin. Some of the wire is net/http's to decide: a
// handler cannot send RST_STREAM itself, so at a server-side deadline the
// call ends with DEADLINE_EXCEEDED in trailers instead; a client ending a
// call early resets the stream with CANCEL, not NO_ERROR; headers go out
// in net/http's order, so grpc-timeout is not always first after the
// pseudo-headers (a SHOULD of the spec); and unary requests and small
// responses carry content-length, which gRPC neither needs nor forbids.
package grpcwire
