package lab

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
)

// Flags registers the path's flags on fs: -rtt, -loss, -seed, -loopback.
func Flags(fs *flag.FlagSet, c *Config) {
	fs.DurationVar(&c.RTT, "rtt", DefaultRTT, "round-trip time of the emulated path")
	fs.Float64Var(&c.Loss, "loss", 0, "probability that a packet is lost, each way (0 to 1)")
	fs.Uint64Var(&c.Seed, "seed", 0, "make the losses repeatable (0: random)")
	fs.BoolVar(&c.Loopback, "loopback", false,
		"use loopback with relays even where network namespaces work")
	fs.StringVar(&c.Pcap, "pcap", "", "write every packet of the path to this pcap `file` "+
		"(open it in Wireshark with SSLKEYLOGFILE's keys)")
}

// Caveats prints what the lab could not measure, if anything.
func (l *Lab) Caveats(tl *timeline.Timeline) {
	if l.Emulated() {
		return
	}
	tl.Printf("\nNot measured here (%v):", l.Fallback)
	tl.Printf("  - TCP's handshake: on loopback the relay answers the SYN at once,")
	tl.Printf("    so every TCP variant shows one round trip less than predicted;")
	tl.Printf("  - TCP Fast Open: the relay ends TCP, so no SYN reaches the server;")
	tl.Printf("  - packets: the ladders show each write, not each packet.")
	tl.Printf("  Run as root (or where unprivileged user namespaces are allowed).")
}

// PrintTable prints trips as the chapter's comparison table.
func PrintTable(tl *timeline.Timeline, trips []Trip) {
	var sb strings.Builder
	table(&sb, trips)
	tl.Printf("%s", strings.TrimRight(sb.String(), "\n"))
}

func table(w io.Writer, trips []Trip) {
	fmt.Fprintf(w, "%-30s %9s %9s %9s %15s\n", "variant", "predicted",
		"measured", "TTFB", "bytes up/down")
	for _, t := range trips {
		_, up, _, down := t.Bytes()
		fmt.Fprintf(w, "%-30s %9d %9.2f %9s %15s\n", t.Name, t.Predicted,
			t.RoundTrips(), timeline.Ms(t.TTFB), fmt.Sprintf("%d/%d", up, down))
	}
}

// Reexec gives a demo run by a user who is not root its own namespaces,
// where the kernel allows unprivileged user namespaces (netns.Reexec: the
// program runs again as root of a new user namespace). It does nothing
// for -serve and -connect, which need the host's own network.
func Reexec() {
	for _, a := range os.Args[1:] {
		a = strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "serve") || strings.HasPrefix(a, "connect") {
			return
		}
	}
	netns.Reexec()
}
