package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"backend-protocols/02-protocols/webrtc/ice"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/peer"
	"backend-protocols/internal/timeline"
)

// browserFlags let headless Chromium use WebRTC on addresses it would
// otherwise hide: loopback, and real host addresses instead of mDNS
// names.
var browserFlags = []string{"--allow-loopback-in-peer-connection",
	"--disable-features=WebRtcHideLocalIpsWithMdns"}

// TestBrowser loads the page with ?pair in headless Chromium: two
// RTCPeerConnections signal through the server, gather candidates with
// its STUN server, open a DataChannel and time pings over it.
//
// A server-reflexive candidate means something only where the browser
// is behind a NAT: on loopback the STUN server sees one of the
// machine's own addresses, so the srflx candidate equals a host one
// (and Chromium drops it as redundant, RFC 8445 5.1.3) or differs only
// by which local address the socket used. So where namespaces and nft exist,
// Chromium runs in a private host behind an nft masquerade router, with
// the page, signaling and STUN servers on a public host, and the test
// checks that a srflx candidate carries the NAT's public address and a
// port the STUN server gave out. Elsewhere it runs on loopback and says
// that this check was skipped; the loopback subtest always runs there.
func TestBrowser(t *testing.T) {
	if peer.ChromiumPath() == "" {
		t.Skip("chromium not installed")
	}
	t.Run("behind-nat", func(t *testing.T) {
		if why := natUnavailable(); why != nil {
			t.Skipf("no NAT here (%v): the srflx check needs one", why)
		}
		browserPair(t, true)
	})
	t.Run("loopback", func(t *testing.T) { browserPair(t, false) })
}

func browserPair(t *testing.T, behindNAT bool) {
	var nat *natLab
	start := (*exec.Cmd).Start
	if behindNAT {
		nat = newLab(t, 1)
		start = func(c *exec.Cmd) error { return nat.Alice.Do(c.Start) }
	}
	s, reports := serveBrowsers(t, nat)
	url := fmt.Sprintf("http://%s/?pair&pings=%d", s.Addr, pings)
	b, err := peer.OpenBrowserWith(context.Background(), start, url, browserFlags...)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var rep browserReport
	select {
	case rep = <-reports:
	case <-b.Exited():
		t.Fatalf("chromium exited:\n%s", b.Log())
	case <-time.After(60 * time.Second):
		t.Fatalf("no report from the page\n%s", b.Log())
	}
	if !rep.OK || len(rep.Peers) != 2 {
		t.Fatalf("page reported ok=%v %q with %d peers", rep.OK, rep.Error, len(rep.Peers))
	}
	a, bb := rep.Peers[0], rep.Peers[1]
	// The DataChannel opened on both sides and every message crossed.
	if a.Opened <= 0 || bb.Opened <= 0 {
		t.Errorf("DataChannel opened after %v and %v ms, want both open", a.Opened, bb.Opened)
	}
	if len(a.RTT) != pings || a.Sent != pings+1 || bb.Received != a.Sent || a.Received != bb.Sent {
		t.Errorf("A sent %d and measured %d RTTs, B received %d; B sent %d, A received %d;"+
			" want %d pings, all across", a.Sent, len(a.RTT), bb.Received, bb.Sent, a.Received, pings)
	}
	if a.Selected == nil || bb.Selected == nil {
		t.Fatal("no selected candidate pair in the browser's statistics")
	}
	t.Logf("DataChannel open after %.0f ms (A) and %.0f ms (B); selected %+v; RTT median %.2f ms",
		a.Opened, bb.Opened, *a.Selected, median(a.RTT))
	// Chromium's SDP and candidates, read by the ice package's parsers.
	var srflx []ice.Candidate
	for _, p := range rep.Peers {
		sess, err := ice.Parse([]byte(p.SDPLocal))
		if err != nil {
			t.Errorf("peer %s's SDP: %v\n%s", p.Name, err, p.SDPLocal)
			continue
		}
		if params, err := sess.ICE(0); err != nil || params.Ufrag == "" {
			t.Errorf("peer %s's SDP: ICE parameters %+v, %v", p.Name, params, err)
		}
		for _, line := range p.Local {
			c, err := ice.ParseCandidate(line)
			if err != nil {
				t.Errorf("peer %s's candidate %q: %v", p.Name, line, err)
			}
			if c.Type == ice.ServerReflexive {
				srflx = append(srflx, c)
			}
		}
	}
	if nat == nil {
		t.Log("server-reflexive check skipped: it needs the browser behind a NAT " +
			"(on loopback the STUN server only sees the machine's own addresses)")
		return
	}
	if len(srflx) == 0 {
		t.Fatalf("no server-reflexive candidate; candidates: %v %v", a.Local, bb.Local)
	}
	for _, c := range srflx {
		switch {
		case c.Addr.Addr() != natAPublic:
			t.Errorf("srflx %v: want the NAT's public address %v", c.Addr, natAPublic)
		case c.Related.Addr() != aliceAddr:
			t.Errorf("srflx %v has base %v, want the browser's host %v", c.Addr, c.Related, aliceAddr)
		case s.STUN.Gave(c.Addr) == 0:
			t.Errorf("srflx %v: the repo's STUN server never answered with that address", c.Addr)
		}
	}
	if !strings.Contains(strings.Join(a.Local, "\n"), "typ host") {
		t.Errorf("no host candidate among %v", a.Local)
	}
}

// TestBrowserTabs runs the page the way a person does: one browser
// opens it and makes a room, a second opens the link to that room. With
// namespaces, the two Chromiums sit on two private hosts behind two
// NATs, so their traffic must go through both: the pair they select
// joins the two NATs' public addresses.
func TestBrowserTabs(t *testing.T) {
	if peer.ChromiumPath() == "" {
		t.Skip("chromium not installed")
	}
	var nat *natLab
	startA, startB := (*exec.Cmd).Start, (*exec.Cmd).Start
	behindNAT := natUnavailable() == nil
	if behindNAT {
		nat = newLab(t, 2)
		startA = func(c *exec.Cmd) error { return nat.Alice.Do(c.Start) }
		startB = func(c *exec.Cmd) error { return nat.Bob.Do(c.Start) }
	} else {
		t.Logf("no NAT here (%v): both browsers on loopback", natUnavailable())
	}
	s, reports := serveBrowsers(t, nat)
	ctx := context.Background()
	first, err := peer.OpenBrowserWith(ctx, startA, "http://"+s.Addr+"/", browserFlags...)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// The first tab made a room and waits in it.
	var room string
	if !waitFor(30*time.Second, func() bool { room = waiting(s.srv.sig); return room != "" }) {
		t.Fatalf("the first browser never joined a room\n%s", first.Log())
	}
	second, err := peer.OpenBrowserWith(ctx, startB, "http://"+s.Addr+"/#room="+room, browserFlags...)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	var got []browserReport
	for len(got) < 2 {
		select {
		case r := <-reports:
			if !r.OK || len(r.Peers) != 1 {
				t.Fatalf("a page reported ok=%v %q", r.OK, r.Error)
			}
			got = append(got, r)
		case <-time.After(60 * time.Second):
			t.Fatalf("got %d of 2 reports\nfirst:\n%s\nsecond:\n%s", len(got), first.Log(), second.Log())
		}
	}
	var offerer, answerer browserPeer
	for _, r := range got {
		if len(r.Peers[0].RTT) > 0 {
			offerer = r.Peers[0]
		} else {
			answerer = r.Peers[0]
		}
	}
	if len(offerer.RTT) != pings || answerer.Received != offerer.Sent {
		t.Errorf("offerer measured %d RTTs and sent %d; answerer received %d",
			len(offerer.RTT), offerer.Sent, answerer.Received)
	}
	if offerer.Selected == nil {
		t.Fatal("no selected pair")
	}
	sel := offerer.Selected
	t.Logf("offerer: DataChannel open after %.0f ms, selected %s %s:%d <-> %s %s:%d, median RTT %.2f ms",
		offerer.Opened, sel.Local.Type, sel.Local.Address, sel.Local.Port,
		sel.Remote.Type, sel.Remote.Address, sel.Remote.Port, median(offerer.RTT))
	if behindNAT {
		// The offerer is the first browser, alice's: it reaches bob
		// at natB's public address, and nowhere else.
		if sel.Remote.Address != natBPublic.String() {
			t.Errorf("the offerer's remote is %s, want natB's public %v", sel.Remote.Address, natBPublic)
		}
	}
}

// waiting returns a room with one peer in it, or "".
func waiting(s *signaler) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, r := range s.rooms {
		if len(r.peers) == 1 {
			return name
		}
	}
	return ""
}

// newLab builds the NAT lab with one or two private sides for the test.
func newLab(t *testing.T, sides int) *natLab {
	t.Helper()
	nat, err := newNATLab(sides, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nat.Close() })
	return nat
}

// serveBrowsers runs -serve's servers on the lab's public host, or on
// loopback without a lab, for the test's length, and returns them with
// a channel of the reports pages post.
func serveBrowsers(t *testing.T, nat *natLab) (*serving, chan browserReport) {
	t.Helper()
	ns, host, stunAt := (*netns.NS)(nil), "127.0.0.1", "127.0.0.1:0"
	if nat != nil {
		ns, host, stunAt = nat.Pub, publicAddr.String(), publicAddr.String()+":3478"
	}
	s, err := startServing(context.Background(), ns, host+":0", stunAt, timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	reports := make(chan browserReport, 2)
	report := func(r browserReport) { reports <- r }
	s.srv.onReport.Store(&report)
	return s, reports
}
