// TLS 1.3 over TCP (lecture 31): one HTTPS fetch with a full handshake,
// then a second one resumed with the ticket the first left behind, across
// a path with a 50 ms round trip.
//
//	go run ./03-https/tls13
//	go run ./03-https/tls13 -rtt 100ms
//
// Watch the ladders: one round trip for TCP's handshake, one for TLS's,
// one for the request, so the first response byte arrives after 3 RTT.
// Resumption skips the certificate (fewer bytes) but not a round trip.
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
	rn := variant.Real{Version: tls.VersionTLS13}
	variant.Program("tls13",
		"TLS 1.3 over TCP: a full handshake, then a resumed one, in round trips.",
		&cfg, &rn,
		func(caFile, port string) string {
			return "curl --tlsv1.3 --cacert " + caFile + " https://localhost:" + port + "/"
		},
		func(ctx context.Context, tl *timeline.Timeline) error {
			_, err := scenario(ctx, tl, cfg)
			return err
		}).Main()
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg lab.Config) (variant.Visits, error) {
	return variant.FullThenResumed(ctx, tl, cfg,
		variant.TLSOptions{Version: tls.VersionTLS13}, "TCP + TLS 1.3", 3, 3)
}
