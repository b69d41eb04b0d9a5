// OSI: one HTTP request from this demo's own client, taken apart layer by
// layer: the application's bytes, then the TCP segment, IPv4 packet and
// Ethernet frame around them, built by hand with their checksums and
// printed as an annotated hex dump.
//
//	go run ./02-protocols/osi   # as root, or: unshare -rn go run ./02-protocols/osi
//
// Where it may make network namespaces (root), the request crosses a veth
// cable between a client and a server namespace, and an AF_PACKET socket
// on the server's interface captures the real frame. The demo decodes it
// with the same code and prints the two side by side, field by field, with
// where each hand-built value came from: look for every row matching and
// the two frames being the same bytes. Elsewhere it says why and shows the
// hand-built frame only.
package main

import (
	"context"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	demo.New("osi", "OSI: one HTTP request's encapsulation, built by hand and captured.",
		demo.Modes{Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
			_, err := scenario(ctx, tl)
			return err
		}}).Main()
}
