// Package lab is chapter 3's test bench: a client host and a server host
// with an emulated network path between them, a capture of every packet
// that crosses it, and the measurement every demo of the chapter prints:
// the time to the first response byte, in round trips.
//
// Where network namespaces work (root, or an unprivileged user namespace),
// the hosts are two namespaces joined by an internal/netem Link with half
// the round-trip time on each direction, so the kernel's own TCP handshake,
// Fast Open and UDP all pay for the path. Elsewhere the lab falls back to
// loopback, with internal/netem's TCP and UDP relays delaying the bytes;
// there a TCP handshake costs nothing (the relay completes it locally),
// Fast Open cannot be shown, and the capture sees each TCP write, not each
// packet, and no UDP at all. Lab.Fallback says why, and the demos print
// what they could not measure.
package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"backend-protocols/03-https/internal/wire"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/netem"
	"backend-protocols/internal/netns"
)

// DefaultRTT is the round-trip time of the chapter's path unless a demo's
// -rtt says otherwise.
const DefaultRTT = 50 * time.Millisecond

// Config describes the path.
type Config struct {
	RTT  time.Duration // round-trip time; DefaultRTT when zero
	Loss float64       // probability that a packet is lost, each way
	Seed uint64        // makes the losses repeatable when non-zero
	// Loopback asks for the loopback fallback even where namespaces work,
	// to see (and test) what a machine without them shows.
	Loopback bool
	// Pcap, if set, names a file that Close writes the capture to.
	Pcap string
	// KeyLog, if set, names a file that Close writes the TLS secrets to
	// (as SSLKEYLOGFILE would), for tools that read the pcap.
	KeyLog string
}

// Lab is a client and a server with a path between them.
type Lab struct {
	cfg Config
	// Fallback is nil when the path is an emulated link between
	// namespaces, and otherwise says why the lab runs on loopback.
	Fallback error
	// Keys collects the TLS secrets of every handshake made with
	// TLSConfig's configurations (and copies them to SSLKEYLOGFILE).
	Keys *wire.KeyLog
	// CA issues the server's certificate; clients trust only it.
	CA *certs.CA

	chain *netem.Chain
	cap   *capture

	mu      sync.Mutex
	closers []func() error
}

// New builds the lab. It makes network namespaces if it can and falls back
// to loopback otherwise; only a failure of both is an error.
func New(cfg Config) (*Lab, error) {
	if cfg.RTT <= 0 {
		cfg.RTT = DefaultRTT
	}
	ca, err := certs.NewCA()
	if err != nil {
		return nil, err
	}
	l := &Lab{cfg: cfg, CA: ca, Keys: wire.NewKeyLog(certs.KeyLogWriter()),
		cap: newCapture()}
	switch {
	case cfg.Loopback:
		l.Fallback = errors.New("loopback asked for")
	default:
		l.Fallback = netns.Available()
	}
	if l.Fallback != nil {
		return l, nil
	}
	up, down := l.paths()
	c, err := netem.NewChain(netem.Hop{Up: up, Down: down, Tap: l.cap.tap})
	if err != nil {
		return nil, err
	}
	l.chain = c
	return l, nil
}

// paths returns the path of each direction: half the RTT each way.
func (l *Lab) paths() (up, down netem.Path) {
	p := netem.Path{Delay: l.cfg.RTT / 2, Loss: l.cfg.Loss, Seed: l.cfg.Seed}
	up, down = p, p
	if p.Seed != 0 {
		down.Seed = p.Seed + 1 // independent losses each way
	}
	return up, down
}

// RTT is the path's round-trip time.
func (l *Lab) RTT() time.Duration { return l.cfg.RTT }

// Loss is the path's loss probability, each way.
func (l *Lab) Loss() float64 { return l.cfg.Loss }

// Emulated reports whether the path is a link between namespaces, where
// every packet, the TCP handshake included, pays the round-trip time.
func (l *Lab) Emulated() bool { return l.chain != nil }

// Describe says in a line what the path is.
func (l *Lab) Describe() string {
	loss := ""
	if l.cfg.Loss > 0 {
		loss = fmt.Sprintf(", %.1f%% loss each way", 100*l.cfg.Loss)
	}
	if l.Emulated() {
		return fmt.Sprintf("client 10.0.0.1 and server 10.0.0.2 in network "+
			"namespaces, %v round trip%s", l.cfg.RTT, loss)
	}
	return fmt.Sprintf("loopback with relays adding %v per round trip%s "+
		"(no namespaces: %v)", l.cfg.RTT, loss, l.Fallback)
}

// ServerHost is the server's address: 10.0.0.2, or 127.0.0.1 on loopback.
func (l *Lab) ServerHost() string {
	if l.Emulated() {
		return l.chain.Addr(1).String()
	}
	return "127.0.0.1"
}

// onClose registers f to run at Close.
func (l *Lab) onClose(f func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closers = append(l.closers, f)
}

// Close closes what the lab made: relays, then the link and namespaces.
// Listeners and connections are the caller's to close first.
func (l *Lab) Close() error {
	l.mu.Lock()
	closers := l.closers
	l.closers = nil
	l.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	var err error
	if l.cfg.Pcap != "" && l.Emulated() {
		err = l.savePcap()
	}
	if l.cfg.KeyLog != "" {
		if kerr := l.saveKeyLog(); err == nil {
			err = kerr
		}
	}
	if l.chain != nil {
		if cerr := l.chain.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Sysctl sets a kernel parameter on both hosts, such as
// net.ipv4.tcp_fastopen. On loopback it changes nothing (the host's
// settings are not the lab's to change) and returns an error saying so.
func (l *Lab) Sysctl(key, value string) error {
	if !l.Emulated() {
		return fmt.Errorf("%s not set: no namespaces of our own", key)
	}
	for _, h := range l.chain.Hosts {
		if err := h.Sysctl(key, value); err != nil {
			return err
		}
	}
	return nil
}

// Host is one of the lab's two machines.
type Host int

// The lab's hosts.
const (
	Client Host = iota
	Server
)

func (h Host) String() string {
	if h == Client {
		return "client"
	}
	return "server"
}

// ns returns the host's namespace, or nil on loopback.
func (l *Lab) ns(h Host) *netns.NS {
	if !l.Emulated() {
		return nil
	}
	if h == Client {
		return l.chain.Client()
	}
	return l.chain.Server()
}

// Do runs f in host h's namespace (on loopback, just runs it): sockets f
// makes belong to that host, as with a QUIC engine that makes its own.
func (l *Lab) Do(h Host, f func() error) error { return l.do(h, f) }

// do runs f in host h's namespace (on loopback, just runs it).
func (l *Lab) do(h Host, f func() error) error {
	if n := l.ns(h); n != nil {
		return n.Do(f)
	}
	return f()
}

// TCPCounters reads the host's TcpExt counters (the TCPFastOpen* family
// among them) from its own /proc/net/netstat, without the prefix.
func (l *Lab) TCPCounters(h Host) (map[string]int64, error) {
	var all map[string]int64
	err := l.do(h, func() (err error) {
		all, err = kernel.Netstat()
		return err
	})
	if err != nil {
		return nil, err
	}
	m := make(map[string]int64)
	for k, v := range all {
		if name, ok := strings.CutPrefix(k, "TcpExt:"); ok {
			m[name] = v
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no TcpExt counters in netstat")
	}
	return m, nil
}

// serverAddr joins the server host with port 0.
func (l *Lab) serverAddr() string {
	return netip.AddrPortFrom(netip.MustParseAddr(l.ServerHost()), 0).String()
}

// loopbackAny is where relays listen on loopback.
const loopbackAny = "127.0.0.1:0"
