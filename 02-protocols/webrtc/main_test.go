package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"backend-protocols/02-protocols/webrtc/ice"
	"backend-protocols/02-protocols/webrtc/stun"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
)

func TestMain(m *testing.M) {
	netns.Reexec() // a non-root user gets namespaces where the kernel allows
	os.Exit(m.Run())
}

// TestScenario runs the demo's scenario where it runs by default: behind
// two NATs in namespaces when it can, on loopback otherwise.
func TestScenario(t *testing.T) {
	res, err := scenario(context.Background(), timeline.Quiet(), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(res); err != nil {
		t.Fatal(err)
	}
	if res.Mode != "nat" {
		t.Skipf("ran on loopback (%s); the NAT assertions need namespaces and nft", res.Why)
	}
	// Each end selected the pair of both public addresses, which are
	// what the STUN server saw of the two ICE sockets.
	a := res.Selected[0]
	if a.Local.Addr != res.Mapped[0] || a.Remote.Addr != res.Mapped[1] {
		t.Errorf("alice selected %v, want %v <-> %v", a, res.Mapped[0], res.Mapped[1])
	}
	// The host pairs cannot work through the NATs: their checks were
	// dropped, at least one each way.
	if res.Dropped < 2 {
		t.Errorf("the NATs dropped %d packets during the checks, want at least 2", res.Dropped)
	}
	// A round trip crosses eight 5 ms links; the STUN server is two away.
	if res.RTT.Min < 8*linkDelay || res.RTT.P50 > 8*linkDelay+time.Second {
		t.Errorf("got ping RTT %v, want about %v", res.RTT, 8*linkDelay)
	}
	for i, s := range res.Stats {
		if s.ChecksSent < 2 || s.ResponsesOut < 1 {
			t.Errorf("peer %d: %+v, want checks sent and answered", i, s)
		}
	}
}

// TestScenarioLoopback runs the scenario on loopback, where the
// server-reflexive candidate is redundant and the host pair is chosen.
func TestScenarioLoopback(t *testing.T) {
	res, err := scenario(context.Background(), timeline.Quiet(), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(res); err != nil {
		t.Fatal(err)
	}
	if res.Mode != "loopback" || res.Selected[0].Remote.Type != ice.Host {
		t.Errorf("got mode %s, selected %v; want loopback and host <-> host",
			res.Mode, res.Selected[0])
	}
}

// startServe runs -serve's servers on loopback ports for the test.
func startServe(t *testing.T) *serving {
	t.Helper()
	s, err := startServing(context.Background(), nil, "127.0.0.1:0", "127.0.0.1:0", timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// TestServe checks what -serve offers a browser and STUN clients: the
// page, the STUN address for iceServers, and reflexive addresses over
// UDP (coturn's turnutils_stunclient, an independent client, and the
// stun engine's) and TCP.
func TestServe(t *testing.T) {
	s := startServe(t)
	resp, err := http.Get("http://" + s.Addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "RTCPeerConnection") {
		t.Error("GET / did not serve the page")
	}
	resp, err = http.Get("http://" + s.Addr + "/config")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct{ STUN string }
	json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if want := "stun:" + s.STUN.Addr().String(); cfg.STUN != want {
		t.Errorf("config: got %q, want %q", cfg.STUN, want)
	}

	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := (&stun.Client{}).BindingUDP(context.Background(), c, s.STUN.Addr())
	if err != nil || r.Mapped != c.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Errorf("UDP: got %v, %v; want %v", r.Mapped, err, c.LocalAddr())
	}
	if s.STUN.Gave(r.Mapped) != 1 {
		t.Errorf("the server recorded %d answers for %v, want 1", s.STUN.Gave(r.Mapped), r.Mapped)
	}
	tc, err := net.Dial("tcp", s.STUN.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	r, err = (&stun.Client{}).BindingTCP(context.Background(), tc)
	if err != nil || r.Mapped.String() != tc.LocalAddr().String() {
		t.Errorf("TCP: got %v, %v; want %v", r.Mapped, err, tc.LocalAddr())
	}

	if _, err := exec.LookPath("turnutils_stunclient"); err != nil {
		t.Skip("turnutils_stunclient not installed (Debian: coturn)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "turnutils_stunclient", "-p",
		itoa(int(s.STUN.Addr().Port())), "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	m := regexp.MustCompile(`UDP reflexive addr: (127\.0\.0\.1:\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("turnutils_stunclient printed %q, want a reflexive address", out)
	}
	// The address coturn's client was told is one the server gave out.
	if ap := netip.MustParseAddrPort(string(m[1])); s.STUN.Gave(ap) == 0 {
		t.Errorf("coturn reported %v, which the server never gave", ap)
	}
}

// TestConnect runs -connect's two Go peers against -serve's servers.
func TestConnect(t *testing.T) {
	s := startServe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := connect(ctx, s.Addr, s.STUN.Addr().String(), timeline.Quiet()); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
