package h3

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"backend-protocols/02-protocols/http3/quic"
	"backend-protocols/internal/netem"
)

// TestZeroRTTRequest: a client that resumes a session sends its request
// in 0-RTT packets; the server sees it as early (IsEarly) and answers.
func TestZeroRTTRequest(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if IsEarly(r) {
			w.Write([]byte("early"))
		} else {
			w.Write([]byte("late"))
		}
	})
	_, addr := startServer(t, mux, func(s *Server) {
		s.QUICConfig = &quic.Config{Allow0RTT: true}
	})
	// A relay with a 20 ms round trip makes sure the resumed request is
	// written before the handshake can complete, so it goes in 0-RTT.
	p := netem.Path{Delay: 10 * time.Millisecond}
	relay, err := netem.NewUDPRelay("127.0.0.1:0", addr, p, p)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	addr = relay.Addr().String()
	cache := tls.NewLRUClientSessionCache(4)
	get := func(early bool) (string, *Transport) {
		tc := testCA().ClientConfig()
		tc.ClientSessionCache = cache
		tr := &Transport{TLSClientConfig: tc}
		if early {
			tr.Dial = func(ctx context.Context, a string, c *quic.Config) (*quic.Conn, error) {
				return quic.DialEarly(ctx, "udp", a, c)
			}
		}
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := client.Get("https://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b), tr
	}
	body, tr := get(false)
	if body != "late" {
		t.Errorf("first request: got %q, want late", body)
	}
	// Wait for the session ticket, which follows the handshake.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := cache.Get("127.0.0.1"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no session ticket")
		}
		time.Sleep(time.Millisecond)
	}
	tr.Close()
	body, tr = get(true)
	defer tr.Close()
	if body != "early" {
		t.Errorf("resumed request: got %q, want early (sent in 0-RTT)", body)
	}
	if qc := tr.Conn(addr); qc == nil || !qc.Used0RTT() {
		t.Errorf("connection did not use 0-RTT")
	}
}
