// Package interop is gRPC's interoperability test service,
// grpc.testing.TestService, built on the two hand-written engines
// (../grpcwire and ../protowire): its messages written by hand
// (messages.go), the server side of the test cases (service.go), and the
// client side of the same cases (cases.go). Its test runs every case three
// ways, in clear text and over TLS: the engine against itself, the
// engine's client against grpc-go's interop server, and grpc-go's interop
// client against the engine's server (both peers built outside the repo by
// .ci/setup.d/grpc.sh).
//
// The cases, from interop-test-descriptions.md in
// ../../shared/rfc/grpc-testing: empty_unary, large_unary,
// client_streaming, server_streaming, ping_pong, empty_stream,
// cancel_after_begin, cancel_after_first_response,
// timeout_on_sleeping_server, custom_metadata, status_code_and_message,
// special_status_message, unimplemented_method, unimplemented_service.
//
// Left out: the compression cases (the engine negotiates none; a request
// that expects compression fails with INVALID_ARGUMENT, as the spec asks
// of a server that did not receive it compressed), the authentication
// cases that need Google credentials, cacheable_unary (it needs a caching
// proxy), ORCA load reports (fields 11 and 8 travel as unknown fields)
// and the load-balancer and xDS services.
//
// testing.proto declares the same messages and services for tools such
// as grpcurl that read a schema:
//
//	grpcurl -plaintext -import-path 02-protocols/grpc/interop -proto testing.proto \
//	  -d '{"response_size": 5}' 127.0.0.1:50051 grpc.testing.TestService/UnaryCall
package interop
