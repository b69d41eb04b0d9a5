// TCP Fast Open with TLS 1.3 (lecture 33): the first connection asks the
// server for a Fast Open cookie; the next carries the cookie and the
// ClientHello in its SYN, so the server answers the SYN with its
// SYN-ACK and its whole TLS flight: 2 round trips to the first byte
// instead of 3.
//
//	go run ./03-https/tfo
//	go run ./03-https/tfo -rtt 100ms
//
// Look for "SYN + ... B data (Fast Open)" on the second ladder, and the
// proof from the kernels: TCP_INFO's SYN-data flag on the client's socket
// and the TCPFastOpenActive/Passive counters of both hosts (netstat -s
// in each namespace would show the same). The third visit offers Go's
// default post-quantum key share: a 1.5 KB ClientHello does not fit in a
// SYN, the rest waits for the handshake, and Fast Open saves nothing.
// Fast Open needs net.ipv4.tcp_fastopen=3 (client and server) on both
// hosts; the demo sets it in its own namespaces, never on this machine.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/variant"
	"backend-protocols/internal/timeline"
)

func main() {
	var cfg lab.Config
	rn := variant.Real{Version: tls.VersionTLS13, FastOpen: true}
	variant.Program("tfo",
		"TCP Fast Open with TLS 1.3: the ClientHello rides in the SYN.",
		&cfg, &rn,
		func(caFile, port string) string {
			return "curl --tcp-fastopen --tlsv1.3 --cacert " + caFile + " https://localhost:" + port + "/"
		},
		func(ctx context.Context, tl *timeline.Timeline) error {
			_, err := scenario(ctx, tl, cfg)
			return err
		}).Main()
}

// report is what the scenario measured: the cookie request, the Fast
// Open connection, and the one with a ClientHello too big for the SYN.
// Skipped says why nothing was measured, on loopback.
type report struct {
	Cookie, FastOpen, TooBig lab.Trip
	Skipped                  error
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg lab.Config) (report, error) {
	var r report
	l, err := lab.New(cfg)
	if err != nil {
		return r, err
	}
	defer l.Close()
	tl.Note("lab", "%s", l.Describe())
	if !l.Emulated() {
		// No SYN of ours reaches a server we control on loopback, and
		// the host's net.ipv4.tcp_fastopen is not ours to change.
		r.Skipped = fmt.Errorf("TCP Fast Open needs the emulated path: %w", l.Fallback)
		tl.Printf("\nNot measured here: %v.", r.Skipped)
		tl.Printf("Run as root (or where unprivileged user namespaces are allowed).")
		return r, nil
	}
	s, err := variant.StartTLS(l, variant.TLSOptions{Version: tls.VersionTLS13,
		FastOpen: true})
	if err != nil {
		return r, err
	}
	defer s.Close()
	tl.Note("lab", "net.ipv4.tcp_fastopen=3 on both hosts; TCP_FASTOPEN on the "+
		"listener, TCP_FASTOPEN_CONNECT on the client's socket")
	c := s.Client()

	tl.Printf("\n== visit 1: no cookie yet: the SYN asks for one ==")
	if r.Cookie, err = c.Fetch(ctx, "TFO + TLS 1.3, no cookie yet", 3); err != nil {
		return r, err
	}
	report1(tl, r.Cookie)

	tl.Printf("\n== visit 2: the SYN carries the cookie and the ClientHello ==")
	if r.FastOpen, err = c.Fetch(ctx, "TFO + TLS 1.3", 2); err != nil {
		return r, err
	}
	report1(tl, r.FastOpen)
	if !r.FastOpen.SYNData {
		return r, errors.New("visit 2: the kernel says the SYN carried no data")
	}

	tl.Printf("\n== visit 3: Go's default key shares, a ClientHello too big for a SYN ==")
	c.Curves = []tls.CurveID{} // Go's default: X25519MLKEM768 first
	if r.TooBig, err = c.Fetch(ctx, "TFO + TLS 1.3, 1.5 KB hello", 3); err != nil {
		return r, err
	}
	report1(tl, r.TooBig)
	tl.Printf("")
	lab.PrintTable(tl, []lab.Trip{r.Cookie, r.FastOpen, r.TooBig})
	return r, nil
}

// report1 prints a trip and the kernels' evidence of Fast Open.
func report1(tl *timeline.Timeline, t lab.Trip) {
	lab.Report(tl, t)
	tl.Printf("  TCP_INFO on the client's socket: SYN carried data the server took: %v",
		t.SYNData)
	var moved []string
	for _, k := range slices.Sorted(maps.Keys(t.Counters)) {
		moved = append(moved, fmt.Sprintf("%s +%d", k, t.Counters[k]))
	}
	if len(moved) == 0 {
		moved = []string{"none"}
	}
	tl.Printf("  TCPFastOpen counters that moved: %s", strings.Join(moved, ", "))
}
