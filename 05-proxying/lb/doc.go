// Package lb holds what the chapter's proxies and load balancers share, so
// that each demo is only the part it teaches:
//
//   - Backend, a named HTTP server that answers with its name (so where a
//     request landed is visible), counts what it served, and can be made
//     sick, slow, reset or stopped on cue;
//   - Sink, a TCP server that reads until the client half-closes and then
//     answers with the byte count, to show half-close crossing a proxy;
//   - Pool, a set of Targets picked round-robin or by least connections,
//     skipping those marked down, and Checker, the active health checks
//     that mark them down and up again;
//   - Relay, the two-way byte copy of every tunnel and L4 balancer, with
//     half-close propagated and the kernel's splice(2) path on Linux;
//   - Conns, the set of connections a server handed off (hijacked,
//     tunnelled), so that shutting down can close them;
//   - Flags, the -policy, -health, -tls and -backends options both
//     balancers take; BufferPool for httputil.ReverseProxy; ServeCA for a
//     -serve run's certificates; and Tally, Scenes and ServeForTest, the
//     small helpers the scenarios and tests share.
//
// Nothing here parses a protocol the proxies teach; the ClientHello parser
// for SNI routing is an engine of its own (../l4-lb/clienthello).
package lb
