package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/lab/labtest"
	"backend-protocols/internal/timeline"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestRoundTrips checks the lecture's counts: a full handshake 3, a GET
// in early data 2, with Fast Open 1; a POST in early data is refused with
// 425 and sent again after the handshake: 3. The guarded server refuses
// the replayed first flight.
func TestRoundTrips(t *testing.T) {
	labtest.EachRTT(t, func(t *testing.T, cfg lab.Config) {
		var reports []report
		labtest.RoundTrips(t, func() ([]lab.Trip, error) {
			r, err := scenario(t.Context(), timeline.Quiet(), config{Lab: cfg, Guard: true})
			reports = append(reports, r)
			return []lab.Trip{r.Full, r.Early, r.FastOpen, r.Post}, err
		})
		for _, r := range reports {
			checkEarly(t, r)
			if served := r.After.Early - r.Before.Early; served != 0 || r.Refused != 1 {
				t.Errorf("replay: got the copy served %d times and %d refusals, "+
					"want 0 and 1", served, r.Refused)
			}
		}
	})
}

// checkEarly checks what crossed the wire and what the server saw.
func checkEarly(t *testing.T, r report) {
	t.Helper()
	if r.Full.EarlyData || !r.Early.EarlyData || !r.FastOpen.EarlyData {
		t.Errorf("got early data %v, %v, %v; want false, true, true",
			r.Full.EarlyData, r.Early.EarlyData, r.FastOpen.EarlyData)
	}
	// The GET goes under the early traffic keys, before the server's
	// first flight; with Fast Open, in the SYN itself.
	for _, tr := range []lab.Trip{r.Early, r.FastOpen} {
		if !tr.Has("(GET / HTTP/1.1)") || tr.Has("[GET / HTTP/1.1]") {
			t.Errorf("%s: got %v, want the GET as early data only", tr.Name, tr.Events)
		}
	}
	if !r.FastOpen.Has("SYN + cookie + 525 B data") &&
		!strings.HasPrefix(r.FastOpen.Events[0].Text, "SYN + cookie + ") {
		t.Errorf("Fast Open: got first message %q, want a SYN with data",
			r.FastOpen.Events[0].Text)
	}
	if !r.Post.Has("[HTTP/1.1 425 Too Early]") || !r.Post.Has("[POST / HTTP/1.1]") {
		t.Errorf("POST: got %v, want 425 then the POST again after the handshake",
			r.Post.Events)
	}
	if r.After.TooEarly != 1 || r.After.Late < 2 {
		t.Errorf("got handler stats %+v, want one 425 and the POST served late", r.After)
	}
}

// TestReplayWithoutGuard shows why the guard is there: without it the
// server serves the replayed GET a second time.
func TestReplayWithoutGuard(t *testing.T) {
	labtest.NeedNamespaces(t)
	r, err := scenario(t.Context(), timeline.Quiet(),
		config{Lab: lab.Config{RTT: 10 * time.Millisecond}, Guard: false})
	if err != nil {
		t.Fatal(err)
	}
	if served := r.After.Early - r.Before.Early; served != 1 || r.Flight == 0 {
		t.Errorf("got the %d-byte copy served %d times, want once", r.Flight, served)
	}
}

// TestLoopbackFallback runs where namespaces are missing: early data
// still works through the relay, Fast Open is not measured, and the replay
// is refused.
func TestLoopbackFallback(t *testing.T) {
	var r report
	labtest.Fallback(t, func(tl *timeline.Timeline, cfg lab.Config) ([]lab.Trip, error) {
		var err error
		r, err = scenario(t.Context(), tl, config{Lab: cfg, Guard: true})
		return []lab.Trip{r.Full, r.Early, r.Post}, err
	})
	if !r.Early.EarlyData || r.FastOpen.Name != "" || r.Refused != 1 {
		t.Errorf("got early data %v, Fast Open trip %q, %d refusals; want true, none, 1",
			r.Early.EarlyData, r.FastOpen.Name, r.Refused)
	}
}

// TestTsharkReadsEarlyData has an independent TLS implementation,
// Wireshark's dissector, read the demo's packets with its key log: it must
// find the GET inside the ClientHello's packet (and inside the SYN, with
// Fast Open), and the POST answered 425, then sent again and answered 200.
func TestTsharkReadsEarlyData(t *testing.T) {
	labtest.NeedNamespaces(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	dir := t.TempDir()
	cfg := lab.Config{RTT: 10 * time.Millisecond,
		Pcap: filepath.Join(dir, "0rtt.pcap"), KeyLog: filepath.Join(dir, "keys")}
	if _, err := scenario(t.Context(), timeline.Quiet(), config{Lab: cfg, Guard: true}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tshark", "-r", cfg.Pcap, "-o", "tls.keylog_file:"+cfg.KeyLog,
		"-Y", "http", "-T", "fields", "-E", "separator=;",
		"-e", "tcp.flags.syn", "-e", "tls.handshake.type",
		"-e", "http.request.method", "-e", "http.response.code").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	// One line per HTTP message: SYN flag; handshake types; method; status.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, want := range []string{
		"0;1;GET;",  // visit 2: the GET in the ClientHello's packet
		"1;1;GET;",  // visit 3: in the SYN, with the ClientHello
		"0;1;POST;", // visit 4: the POST in early data...
		"0;;;425",   // ...refused,
		"0;;POST;",  // sent again after the handshake,
		"0;;;200",   // and served
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("tshark found no %q in:\n%s", want, out)
		}
	}
}
