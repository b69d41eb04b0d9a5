package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/internal/lab/labtest"
	"backend-protocols/internal/timeline"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestRoundTrips checks the lecture's count: TCP's handshake, TLS 1.3's
// one round trip, the request: 3 RTT, resumed or not.
func TestRoundTrips(t *testing.T) {
	labtest.NeedNamespaces(t)
	for _, rtt := range labtest.RTTs {
		t.Run(rtt.String(), func(t *testing.T) {
			trips := labtest.RoundTrips(t, func() ([]lab.Trip, error) {
				v, err := scenario(t.Context(), timeline.Quiet(), lab.Config{RTT: rtt})
				return []lab.Trip{v.Full, v.Resumed}, err
			})
			full, resumed := trips[0], trips[1]
			if full.Resumed || !resumed.Resumed {
				t.Errorf("got resumed %v then %v, want false then true",
					full.Resumed, resumed.Resumed)
			}
			// The ladder, decrypted with the key log: the full handshake
			// proves the server's identity; resumption skips that.
			for _, m := range []string{"ClientHello", "ServerHello",
				"{EncryptedExtensions}", "{Certificate}", "{CertificateVerify}",
				"{Finished}", "[GET / HTTP/1.1]", "[HTTP/1.1 200 OK]"} {
				if !full.Has(m) {
					t.Errorf("full handshake: no %s on the ladder", m)
				}
			}
			if resumed.Has("{Certificate}") || !resumed.Has("{Finished}") {
				t.Errorf("resumed handshake: got a certificate %v, Finished %v; want false, true",
					resumed.Has("{Certificate}"), resumed.Has("{Finished}"))
			}
			_, _, _, fullDown := full.Bytes()
			_, _, _, resDown := resumed.Bytes()
			if resDown >= fullDown {
				t.Errorf("got %d bytes down resumed, %d full; want fewer resumed",
					resDown, fullDown)
			}
		})
	}
}

// TestLoopbackFallback runs the demo where it would run without
// namespaces: it must still work, and say what it could not measure.
func TestLoopbackFallback(t *testing.T) {
	var out strings.Builder
	rtt := 20 * time.Millisecond
	v, err := scenario(context.Background(), timeline.New(&out),
		lab.Config{RTT: rtt, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []lab.Trip{v.Full, v.Resumed} {
		// The relay answers the SYN locally: one round trip fewer.
		if want := time.Duration(tr.Predicted-1) * rtt; tr.Emulated || tr.TTFB < want {
			t.Errorf("%s: got emulated %v, first byte after %v; want false, at least %v",
				tr.Name, tr.Emulated, tr.TTFB, want)
		}
	}
	if !strings.Contains(out.String(), "Not measured here") {
		t.Errorf("output does not say what was not measured:\n%s", out.String())
	}
}
