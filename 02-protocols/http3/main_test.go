package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"backend-protocols/02-protocols/http3/h3"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
)

func TestMain(m *testing.M) {
	netns.Reexec()
	os.Exit(m.Run())
}

// testCfg uses longer delays than the demo's, so that timing holds on a
// loaded machine: a stall of one round trip is 80 ms to find.
var testCfg = config{Delay: 30 * time.Millisecond,
	HOL: holConfig{Resources: 10, Size: 1 << 10, Delay: 40 * time.Millisecond,
		DropAt: 2}}

func TestScenario(t *testing.T) {
	res, err := scenario(context.Background(), timeline.Quiet(), testCfg)
	if err != nil {
		t.Fatal(err)
	}
	// The handshake takes one round trip and the request leaves with the
	// client's Finished, so its answer starts in the second.
	if res.HandshakeRoundTrips != 1 || res.FirstResponseRTs != 2 {
		t.Errorf("got handshake in %d round trips, response in %d; want 1 and 2",
			res.HandshakeRoundTrips, res.FirstResponseRTs)
	}
	// Go's ClientHello (with X25519MLKEM768) does not fit one packet.
	if res.ClientInitials < 2 {
		t.Errorf("got the ClientHello in %d Initial packets, want >= 2",
			res.ClientInitials)
	}
	if !strings.Contains(res.GetBody, "HTTP/3.0") ||
		res.PostBody != "a POST body travels in DATA frames" {
		t.Errorf("got GET %q and POST %q", res.GetBody, res.PostBody)
	}
	// The NAT rebinding: a new address, a validated path, one connection.
	if res.AddrBefore == res.AddrAfter || res.PathChallenges < 1 ||
		res.PathResponses < 1 || !res.SameConn {
		t.Errorf("rebinding: %s -> %s, %d challenges, %d responses, same "+
			"connection %v; want a new address validated on the same connection",
			res.AddrBefore, res.AddrAfter, res.PathChallenges,
			res.PathResponses, res.SameConn)
	}
	// Head-of-line blocking: one lost packet holds up one HTTP/3 stream,
	// and most HTTP/2 streams. Two measures, each blind to a different
	// noise of a loaded machine: later than without the loss (blind to a
	// run that is slower as a whole), later than the run's first
	// resource (blind to a loss that holds up every resource).
	hol := res.HOL
	rtt := 2 * testCfg.HOL.Delay
	if h3 := min(hol.H3.Delayed(rtt), hol.H3.HeldUp(rtt)); hol.H3.Dropped != 1 || h3 > 2 {
		t.Errorf("HTTP/3: %d dropped, %d of %d streams held up; want 1 and at most 2",
			hol.H3.Dropped, h3, testCfg.HOL.Resources)
	}
	if !hol.Link {
		t.Logf("no namespaces (%s): HTTP/2 ran without loss", hol.Why)
		return
	}
	if h2 := max(hol.H2.Delayed(rtt), hol.H2.HeldUp(rtt)); hol.H2.Dropped != 1 || h2 < 5 {
		t.Errorf("HTTP/2: %d dropped, %d of %d streams held up; want 1 and at least 5",
			hol.H2.Dropped, h2, testCfg.HOL.Resources)
	}
}

// TestServe checks -serve: HTTP/3 from the engine's client, HTTPS over
// TCP advertising it with Alt-Svc, and ngtcp2's client if installed.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := startServe(ctx, "127.0.0.1:0", timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	pem, err := os.ReadFile(s.CAPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tc := &tls.Config{RootCAs: pool}
	tr := &h3.Transport{TLSClientConfig: tc}
	defer tr.Close()
	for _, c := range []struct {
		client *http.Client
		proto  string
	}{
		{&http.Client{Transport: tr, Timeout: 10 * time.Second}, "HTTP/3.0"},
		{&http.Client{Transport: &http.Transport{TLSClientConfig: tc,
			ForceAttemptHTTP2: true}, Timeout: 10 * time.Second}, "HTTP/2.0"},
	} {
		resp, err := c.client.Get("https://" + s.Addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Proto != c.proto ||
			!strings.Contains(string(b), c.proto) {
			t.Errorf("GET / over %s: got %d %s %q", c.proto, resp.StatusCode,
				resp.Proto, b)
		}
		_, port, _ := strings.Cut(s.Addr, ":")
		if got, want := resp.Header.Get("Alt-Svc"), `h3=":`+port+`"; ma=86400`; got != want {
			t.Errorf("%s: got Alt-Svc %q, want %q", c.proto, got, want)
		}
		resp, err = c.client.Get("https://" + s.Addr + "/bytes/123456")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != 123456 {
			t.Errorf("/bytes/123456 over %s: got %d bytes", c.proto, n)
		}
	}
	if _, err := exec.LookPath("gtlsclient"); err == nil {
		host, port, _ := strings.Cut(s.Addr, ":")
		dir := t.TempDir()
		out, err := exec.Command("gtlsclient", "--exit-on-all-streams-close",
			"--no-quic-dump", "--no-http-dump", "--download="+dir, host, port,
			"https://"+s.Addr+"/bytes/100000").CombinedOutput()
		st, serr := os.Stat(dir + "/100000")
		if err != nil || serr != nil || st.Size() != 100000 {
			t.Errorf("gtlsclient: %v %v\n%s", err, serr, out[max(0, len(out)-2000):])
		}
	}
}
