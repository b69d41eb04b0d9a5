// Package interop checks the hand-written QUIC engine against an
// independent implementation, golang.org/x/net/quic, in both directions:
// handshake, streams opened by either side in both directions, large
// transfers, and connection close with an application error code.
//
// It is a nested test-only module because x/net/quic needs
// golang.org/x/crypto, which the main module must not depend on:
//
//	cd 02-protocols/http3/quic/interop && go test ./...
package interop
