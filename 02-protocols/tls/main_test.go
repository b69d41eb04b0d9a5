package main

import (
	"backend-protocols/internal/leak"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"testing"
	"time"

	"backend-protocols/02-protocols/tls/tlstap"
	"backend-protocols/internal/timeline"
)

func TestTLS(t *testing.T) {
	res, err := scenario(context.Background(), timeline.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if left := leak.Gone(5*time.Second, "tlstap.(*Proxy)", "main.(*server)",
		"netem.(*TCPRelay)"); len(left) > 0 {
		t.Errorf("goroutines left: %v", left)
	}
	t.Run("negotiated", func(t *testing.T) {
		if len(res.Negotiated) != 2 {
			t.Fatalf("got %d negotiations, want 2", len(res.Negotiated))
		}
		def, classic := res.Negotiated[0], res.Negotiated[1]
		st := def.State
		if st.Version != tls.VersionTLS13 || st.CurveID != tls.X25519MLKEM768 ||
			def.Chosen != st.CurveID {
			t.Errorf("default: got %s with %v (tap: %v), want TLS 1.3 with X25519MLKEM768",
				tls.VersionName(st.Version), st.CurveID, def.Chosen)
		}
		if !slices.Contains(def.Offered, tls.X25519MLKEM768) ||
			!slices.Contains(def.Offered, tls.X25519) {
			t.Errorf("default: got key shares %v, want hybrid and classic", def.Offered)
		}
		if st.NegotiatedProtocol != "h2" || def.SNI != "localhost" {
			t.Errorf("got ALPN %q, SNI %q; want h2, localhost", st.NegotiatedProtocol, def.SNI)
		}
		if len(st.VerifiedChains) != 1 || len(st.VerifiedChains[0]) != 2 {
			t.Errorf("got chains %v, want one of leaf and CA", st.VerifiedChains)
		}
		if classic.State.CurveID != tls.X25519 || classic.Chosen != tls.X25519 ||
			!slices.Equal(classic.Offered, []tls.CurveID{tls.X25519}) {
			t.Errorf("classic: got %v (tap: offered %v, chosen %v), want X25519 alone",
				classic.State.CurveID, classic.Offered, classic.Chosen)
		}
		// An ML-KEM-768 share is 1184 bytes; an X25519 share is 32.
		if def.HelloBytes-classic.HelloBytes < 1184 {
			t.Errorf("got ClientHellos of %d and %d bytes, want the hybrid 1184+ bigger",
				def.HelloBytes, classic.HelloBytes)
		}
	})
	if len(res.Runs) != 4 {
		t.Fatalf("got %d runs, want 4", len(res.Runs))
	}
	full12, again12, full13, again13 := res.Runs[0], res.Runs[1], res.Runs[2], res.Runs[3]
	t.Run("1.2 versus 1.3", func(t *testing.T) {
		if full12.State.Version != tls.VersionTLS12 || full13.State.Version != tls.VersionTLS13 {
			t.Fatalf("got versions %x and %x", full12.State.Version, full13.State.Version)
		}
		// TLS 1.2's server flight is readable; in 1.3 only the ServerHello.
		for _, want := range []tlstap.HandshakeType{tlstap.ServerHello,
			tlstap.Certificate, tlstap.ServerKeyExchange, tlstap.ServerHelloDone} {
			if !slices.Contains(full12.Readable[1], want) {
				t.Errorf("1.2: got readable %v, want %v among them", full12.Readable[1], want)
			}
		}
		if !slices.Equal(full13.Readable[1], []tlstap.HandshakeType{tlstap.ServerHello}) {
			t.Errorf("1.3: got readable %v, want only the ServerHello", full13.Readable[1])
		}
		if full12.Records == full13.Records {
			t.Errorf("got the same record counts %v in 1.2 and 1.3", full12.Records)
		}
		if full13.Hidden[1] < 4 {
			t.Errorf("1.3: got %d encrypted server handshake records, want EE, "+
				"Certificate, CertificateVerify, Finished at least", full13.Hidden[1])
		}
		// A full 1.2 handshake is two round trips; 1.3 one.
		if full12.RTTs < 1.9 || full13.RTTs > full12.RTTs-0.6 {
			t.Errorf("got %.2f round trips for 1.2, %.2f for 1.3; want 2 and 1",
				full12.RTTs, full13.RTTs)
		}
		if len(full13.AppData) == 0 || bytes.Contains(full13.AppData, []byte("ping")) {
			t.Errorf("got application data %q on the wire", full13.AppData)
		}
	})
	t.Run("resumption", func(t *testing.T) {
		if !again12.Resumed || !again13.Resumed {
			t.Fatalf("got DidResume %v and %v, want both", again12.Resumed, again13.Resumed)
		}
		if !again12.Ticket || !again13.PSK {
			t.Errorf("on the wire: got 1.2 ticket %v, 1.3 PSK %v; want both",
				again12.Ticket, again13.PSK)
		}
		if full12.RTTs-again12.RTTs < 0.6 {
			t.Errorf("1.2: got %.2f then %.2f round trips, want one saved",
				full12.RTTs, again12.RTTs)
		}
		// 1.3 resumption saves the certificate, not a round trip.
		if slices.Contains(again13.Readable[1], tlstap.Certificate) ||
			again13.Bytes[1] >= full13.Bytes[1]-500 {
			t.Errorf("1.3: got server bytes %d then %d, want the certificate saved",
				full13.Bytes[1], again13.Bytes[1])
		}
	})
	t.Run("failures", func(t *testing.T) {
		if len(res.Failures) != 5 {
			t.Fatalf("got %d failures, want 5", len(res.Failures))
		}
		f := res.Failures
		var host x509.HostnameError
		if !errors.As(f[0].ClientErr, &host) {
			t.Errorf("%s: got %v, want an x509.HostnameError", f[0].Name, f[0].ClientErr)
		}
		var ca x509.UnknownAuthorityError
		if !errors.As(f[1].ClientErr, &ca) {
			t.Errorf("%s: got %v, want an x509.UnknownAuthorityError", f[1].Name, f[1].ClientErr)
		}
		var inv x509.CertificateInvalidError
		if !errors.As(f[2].ClientErr, &inv) || inv.Reason != x509.Expired {
			t.Errorf("%s: got %v, want x509.Expired", f[2].Name, f[2].ClientErr)
		}
		for _, c := range f[:3] {
			// The client tells the server why it hung up: bad_certificate.
			if a, ok := alertOf(c.ServerErr); !ok || a != 42 {
				t.Errorf("%s: server got %v, want alert 42 (bad_certificate)", c.Name, c.ServerErr)
			}
		}
		for i, want := range map[int]tls.AlertError{3: 116, 4: 70} {
			if a, ok := alertOf(f[i].ClientErr); !ok || a != want {
				t.Errorf("%s: client got %v, want alert %d (%v)", f[i].Name,
					f[i].ClientErr, uint8(want), want)
			}
		}
	})
}
