package ice

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestPriority checks the formula of RFC 8445 section 5.1.2.1 against
// the priorities of RFC 8839's example (local preference 65535) and
// against the ones Chromium 156 put on its candidates (local preference
// 30), which follow the same formula.
func TestPriority(t *testing.T) {
	cases := []struct {
		typ  CandidateType
		pref uint16
		want uint32
	}{
		{Host, 65535, 2130706431},
		{ServerReflexive, 65535, 1694498815},
		{Host, 30, 2113937151},
		{ServerReflexive, 30, 1677729535},
		{PeerReflexive, 65535, 1862270975},
		{Relayed, 0, 255},
	}
	for _, c := range cases {
		if got := Priority(c.typ, c.pref, 1); got != c.want {
			t.Errorf("Priority(%s, %d, 1): got %d, want %d", c.typ, c.pref, got, c.want)
		}
	}
}

func TestPairPriority(t *testing.T) {
	g, d := uint32(2130706431), uint32(1694498815)
	// 2^32*MIN + 2*MAX + (G>D?1:0), section 6.1.2.3.
	if got, want := PairPriority(g, d), uint64(d)<<32+2*uint64(g)+1; got != want {
		t.Errorf("got %d, want %d", got, want)
	}
	if got, want := PairPriority(d, g), uint64(d)<<32+2*uint64(g); got != want {
		t.Errorf("swapped: got %d, want %d", got, want)
	}
	// The same pair seen from both sides differs only in the last bit,
	// so both agents order their checklists alike.
	if PairPriority(g, d)-PairPriority(d, g) != 1 {
		t.Error("the two agents' priorities of one pair differ by more than the tie bit")
	}
}

func TestParseCandidate(t *testing.T) {
	cases := []struct {
		line string
		want Candidate
	}{
		// RFC 8839's example (and RFC 5245's before it).
		{"a=candidate:1 1 UDP 2130706431 203.0.113.141 8998 typ host",
			Candidate{Foundation: "1", Component: 1, Transport: "UDP", Priority: 2130706431,
				Addr: netip.MustParseAddrPort("203.0.113.141:8998"), Type: Host}},
		{"a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998",
			Candidate{Foundation: "2", Component: 1, Transport: "UDP", Priority: 1694498815,
				Addr: netip.MustParseAddrPort("192.0.2.3:45664"), Type: ServerReflexive,
				Related: netip.MustParseAddrPort("203.0.113.141:8998")}},
		// What Chromium 156 sent in this repo's NAT test.
		{"candidate:849636385 1 udp 1677729535 10.0.1.1 44937 typ srflx raddr 10.0.0.1 rport 44937 generation 0 ufrag I0zb network-cost 999",
			Candidate{Foundation: "849636385", Component: 1, Transport: "udp", Priority: 1677729535,
				Addr: netip.MustParseAddrPort("10.0.1.1:44937"), Type: ServerReflexive,
				Related:    netip.MustParseAddrPort("10.0.0.1:44937"),
				Extensions: []Extension{{"generation", "0"}, {"ufrag", "I0zb"}, {"network-cost", "999"}}}},
		// A browser hiding its address behind an mDNS name, and a TCP one.
		{"candidate:3 1 udp 2113937151 5f1c2a8e-1b7e-4c43-9d3a-0c4ab2d0a4f1.local 50123 typ host generation 0",
			Candidate{Foundation: "3", Component: 1, Transport: "udp", Priority: 2113937151,
				Hostname: "5f1c2a8e-1b7e-4c43-9d3a-0c4ab2d0a4f1.local",
				Addr:     netip.AddrPortFrom(netip.Addr{}, 50123), Type: Host,
				Extensions: []Extension{{"generation", "0"}}}},
		{"candidate:4 1 tcp 1518280447 192.0.2.9 9 typ host tcptype active",
			Candidate{Foundation: "4", Component: 1, Transport: "tcp", Priority: 1518280447,
				Addr: netip.MustParseAddrPort("192.0.2.9:9"), Type: Host,
				Extensions: []Extension{{"tcptype", "active"}}}},
		{"candidate:a+/Z 1 UDP 1 2001:db8::1 3478 typ relay raddr 2001:db8::2 rport 0",
			Candidate{Foundation: "a+/Z", Component: 1, Transport: "UDP", Priority: 1,
				Addr: netip.MustParseAddrPort("[2001:db8::1]:3478"), Type: Relayed,
				Related: netip.MustParseAddrPort("[2001:db8::2]:0")}},
	}
	for _, c := range cases {
		got, err := ParseCandidate(c.line)
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if got.String() != c.want.String() || got.Hostname != c.want.Hostname {
			t.Errorf("%q:\n got %s\nwant %s", c.line, got, c.want)
		}
		// What String writes parses back to the same candidate.
		back, err := ParseCandidate(got.String())
		if err != nil || back.String() != got.String() {
			t.Errorf("%q did not survive String and Parse: %v", c.line, err)
		}
	}
	if got, _ := ParseCandidate(cases[1].line); got.String() !=
		strings.TrimPrefix(cases[1].line, "a=") {
		t.Errorf("got %q, want the RFC's line back", got)
	}
}

func TestParseCandidateRejects(t *testing.T) {
	bad := map[string]string{
		"no prefix":           "1 1 UDP 1 192.0.2.1 1 typ host",
		"too few fields":      "candidate:1 1 UDP 1 192.0.2.1 1 typ",
		"foundation char":     "candidate:a-b 1 UDP 1 192.0.2.1 1 typ host",
		"foundation length":   "candidate:" + strings.Repeat("a", 33) + " 1 UDP 1 192.0.2.1 1 typ host",
		"component 0":         "candidate:1 0 UDP 1 192.0.2.1 1 typ host",
		"component 257":       "candidate:1 257 UDP 1 192.0.2.1 1 typ host",
		"priority 0":          "candidate:1 1 UDP 0 192.0.2.1 1 typ host",
		"priority overflow":   "candidate:1 1 UDP 4294967296 192.0.2.1 1 typ host",
		"priority sign":       "candidate:1 1 UDP -1 192.0.2.1 1 typ host",
		"port 65536":          "candidate:1 1 UDP 1 192.0.2.1 65536 typ host",
		"bad address":         "candidate:1 1 UDP 1 192.0.2.1%eth0 1 typ host",
		"no typ":              "candidate:1 1 UDP 1 192.0.2.1 1 type host",
		"raddr alone":         "candidate:1 1 UDP 1 192.0.2.1 1 typ srflx raddr 10.0.0.1",
		"rport alone":         "candidate:1 1 UDP 1 192.0.2.1 1 typ srflx rport 1 x y",
		"bad raddr":           "candidate:1 1 UDP 1 192.0.2.1 1 typ srflx raddr x rport 1",
		"odd extension":       "candidate:1 1 UDP 1 192.0.2.1 1 typ host generation",
		"double space":        "candidate:1 1 UDP 1 192.0.2.1  1 typ host",
		"too many ext":        "candidate:1 1 UDP 1 192.0.2.1 1 typ host" + strings.Repeat(" a b", maxExtensions+1),
		"too long":            "candidate:1 1 UDP 1 192.0.2.1 1 typ host " + strings.Repeat("a", MaxCandidateLine),
		"control char in ext": "candidate:1 1 UDP 1 192.0.2.1 1 typ host a \x00",
	}
	for name, line := range bad {
		if c, err := ParseCandidate(line); !errors.Is(err, ErrCandidate) {
			t.Errorf("%s: got %v, %v; want ErrCandidate", name, c, err)
		}
	}
}

func TestFoundation(t *testing.T) {
	base := netip.MustParseAddr("10.0.0.1")
	srv := netip.MustParseAddrPort("10.0.1.2:3478")
	a := Foundation(ServerReflexive, base, srv)
	if a != Foundation(ServerReflexive, base, srv) {
		t.Error("same type, base and server gave different foundations")
	}
	if a == Foundation(Host, base, netip.AddrPort{}) ||
		a == Foundation(ServerReflexive, netip.MustParseAddr("10.0.0.2"), srv) {
		t.Error("a different type or base gave the same foundation")
	}
	if !iceChars(a) || len(a) > maxFoundation {
		t.Errorf("foundation %q is not 1 to 32 ice-chars", a)
	}
}

func FuzzParseCandidate(f *testing.F) {
	for _, s := range []string{
		"candidate:1 1 UDP 2130706431 203.0.113.141 8998 typ host",
		"candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998",
		"candidate:849636385 1 udp 1677729535 10.0.1.1 44937 typ srflx raddr 10.0.0.1 rport 44937 generation 0 ufrag I0zb network-cost 999",
		"candidate:3 1 udp 2113937151 x.local 50123 typ host",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCandidate(s)
		if err != nil {
			return
		}
		// Whatever parses formats to a line that parses to the same.
		back, err := ParseCandidate(c.String())
		if err != nil {
			t.Fatalf("%q parsed, but its String %q did not: %v", s, c.String(), err)
		}
		if back.String() != c.String() {
			t.Fatalf("%q -> %q -> %q", s, c.String(), back.String())
		}
	})
}
