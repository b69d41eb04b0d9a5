// Package netem emulates an imperfect network path, for demos and tests.
// It has two kinds of tool.
//
// Relays, on loopback, with no privileges: a UDP relay that delays, drops,
// reorders and duplicates datagrams (and can change its source port
// mid-flow, as a NAT rebinding does), and a TCP relay that delays the bytes
// of each direction.
//
// Links, between network namespaces (package netns): a Link carries real
// IP packets between two hosts with a Path applied to each direction, so
// the kernel's own TCP (handshake, retransmissions, congestion control,
// Fast Open), UDP, ICMP, fragmentation and NAT all run across it. A Chain
// is a line of such hosts: a client and a server (NewPair), or client,
// router(s) and server (NewChain).
//
// # Why a relay is not enough
//
// A relay is a TCP endpoint itself. When a client connects to it, the two
// kernels finish the three-way handshake on loopback in microseconds,
// before the relay's code sees anything; the relay then dials the target
// and copies bytes. So connect() costs no emulated round trip, the TLS
// handshake that follows pays only for its own flights, and a lost segment
// cannot be emulated (the relay sees a reliable byte stream; the kernel
// retransmits on loopback, where nothing is lost). This kernel has no
// netem qdisc (tc qdisc add ... netem) either. A demo that counts the round
// trips of TCP, or shows TCP's recovery from loss, needs packets delayed
// and dropped below TCP: a Link.
//
// # How a Link works
//
//	 client ns                 the link's own ns            server ns
//	+-----------+      +--------------------------+      +-----------+
//	| eth0      | veth | a ---- Up path ----> b   | veth | eth0      |
//	| 10.0.0.1  |======|                          |======| 10.0.0.2  |
//	|           |      | a <--- Down path ---- b  |      |           |
//	+-----------+      +--------------------------+      +-----------+
//
// Each host's interface is one end of a veth pair (a virtual cable); the
// other ends, a and b, sit in a hidden namespace. A packet socket
// (AF_PACKET) on a reads every Ethernet frame the client sends; the Up
// path decides its fate (Delay, Jitter, Loss or Drop, Duplicate, Reorder)
// and a queue sends it out of b, toward the server, when its time comes;
// the Down path does the same the other way. Details that matter:
//
//   - Offloads are off on the hosts' interfaces (DisableOffloads). A veth
//     otherwise hands over 64 KB "super-frames" with checksums left to be
//     filled in (TSO, checksum offload), which a forwarder cannot resend
//     as they are. With them off, every frame is a real packet no larger
//     than the MTU, and loss and counts are per packet.
//   - Each host knows the other's hardware address for good (a permanent
//     neighbour entry), so no ARP request crosses the link and the first
//     packet does not wait an extra round trip. IPv6 is off on the link's
//     interfaces, so nothing else crosses it either: Stats count only
//     what the hosts send.
//   - Delays are counted from the moment the kernel received the frame
//     (SO_TIMESTAMPNS), and the queue spins the last 1.5 ms before a
//     packet is due, because Go's timers may fire a millisecond late. On
//     an idle machine a packet leaves within about 0.1 ms of its time:
//     with 25 ms each way, connect takes 50.3 ms.
//   - Our own sends on a and b come back to the packet sockets as
//     PACKET_OUTGOING copies; the kernel is told to leave them out
//     (PACKET_IGNORE_OUTGOING) and read skips them too.
//   - The MTU is set on all four interfaces. A host refuses to send a
//     bigger packet with DF set (EMSGSIZE); a router answers ICMP
//     Fragmentation Needed, or fragments the packet when DF is clear.
//
// A Chain numbers link i as 10.0.i.0/24 (the host nearer the client is .1,
// the other .2), turns on net.ipv4.ip_forward in routers and adds routes,
// so traceroute-style TTL probes see each router. Anything else a host
// needs is set from outside, through its netns.NS: a sysctl
// (Sysctl("net.ipv4.tcp_fastopen", "3")), a listener (Listen), or a
// program run inside it, such as an nft masquerade rule in a router:
//
//	cmd := exec.Command("nft", "-f", "nat.nft")
//	err := chain.Hosts[1].Do(cmd.Run)
//
// # Limits
//
//   - No bandwidth limit: a Link serialises nothing, so a packet's delay
//     does not depend on its size or on the packets before it. Add a tbf
//     qdisc inside a host for a rate limit (tbf works on this kernel).
//   - Each direction holds at most 4096 packets in flight; more are
//     dropped, as by a router's full buffer, and counted as Dropped.
//   - Precision needs CPU: the spin runs for 1.5 ms before each due
//     packet, and a loaded machine delays a packet by however long the
//     forwarder waits for a CPU. Tests allow a few milliseconds.
//   - With checksum offload off, a UDP send with UDP_SEGMENT (UDP GSO)
//     fails with EIO, as it would on a NIC without checksum offload.
//   - IPv4 only; a Link joins exactly two hosts (no switch).
//   - Namespaces need root, or a user namespace (netns.Reexec); without
//     them netns.Available says why, and callers skip or fall back to the
//     relays above.
package netem
