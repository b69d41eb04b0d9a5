// TLS 1.2 over TCP (lecture 30): one HTTPS fetch with a full handshake,
// then a second one resumed with the ticket the first left behind, across
// a path with a 50 ms round trip.
//
//	go run ./03-https/tls12
//	go run ./03-https/tls12 -rtt 100ms
//
// Watch the ladders: one round trip for TCP's handshake, two for TLS 1.2's
// (hellos and certificate, then key exchange and Finished), one for the
// request, so the first response byte arrives after 4 RTT. Resumption
// (an abbreviated handshake with a session ticket) needs one TLS round
// trip instead of two: 3 RTT, and no certificate.
package main

import (
	"context"
	"crypto/tls"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/variant"
	"backend-protocols/internal/timeline"
)

func main() {
	var cfg lab.Config
	rn := variant.Real{Version: tls.VersionTLS12}
	variant.Program("tls12",
		"TLS 1.2 over TCP: a full handshake, then a resumed one, in round trips.",
		&cfg, &rn,
		func(caFile, port string) string {
			return "curl --tlsv1.2 --tls-max 1.2 --cacert " + caFile + " https://localhost:" + port + "/"
		},
		func(ctx context.Context, tl *timeline.Timeline) error {
			_, err := scenario(ctx, tl, cfg)
			return err
		}).Main()
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg lab.Config) (variant.Visits, error) {
	return variant.FullThenResumed(ctx, tl, cfg,
		variant.TLSOptions{Version: tls.VersionTLS12}, "TCP + TLS 1.2", 4, 3)
}
