// IP: ICMP echo with golang.org/x/net/icmp and the IPv4 header of the
// reply; then, across network namespaces made by the demo (client,
// router1, router2, server, joined by veth links), TTL and routing as a
// traceroute over real hops, and MTU: fragmentation, reassembly, and DF.
//
//	go run ./02-protocols/ip   # as root, or: unshare -rn go run ./02-protocols/ip
//
// Look for: which ICMP sockets this host lets you open (an unprivileged
// udp4 ping socket needs your group in net.ipv4.ping_group_range; a raw
// socket needs root) and the reply's header fields; the reply from the
// server arriving with TTL 62, two routers later; probes with TTL 1 and 2
// answered by router1 and router2 with Time Exceeded, 10 ms further each,
// and TTL 3 by the server; a 1400-byte datagram split by router1 into
// fragments for the 1000-byte link and reassembled by the server, and the
// same datagram with DF set refused with "fragmentation needed", after
// which the client's kernel knows the path MTU and refuses to send it.
// Without namespaces it says why and stops after the echo.
package main

import (
	"context"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	demo.New("ip", "IP: ICMP echo, TTL and traceroute, MTU and fragmentation.",
		demo.Modes{Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
			_, err := scenario(ctx, tl)
			return err
		}}).Main()
}
