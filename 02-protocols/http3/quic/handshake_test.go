package quic

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder collects trace events from one side.
type recorder struct {
	mu     sync.Mutex
	events []PacketEvent
}

func (r *recorder) trace(e PacketEvent) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) all() []PacketEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]PacketEvent(nil), r.events...)
}

// hasFrame reports whether an event lists a frame starting with name.
func hasFrame(e PacketEvent, name string) bool {
	for _, f := range e.Frames {
		if strings.HasPrefix(f, name) {
			return true
		}
	}
	return false
}

// TestHandshakeOnTheWire checks the handshake's packets: the ClientHello
// (with X25519MLKEM768, about 1.5 KB) split into CRYPTO frames across two
// Initial packets, every client datagram with an Initial padded to 1200
// bytes, HANDSHAKE_DONE from the server, and the handshake spaces
// discarded afterwards.
func TestHandshakeOnTheWire(t *testing.T) {
	var cr, sr recorder
	sc, cc := serverConfig(t), clientConfig()
	sc.Trace, cc.Trace = sr.trace, cr.trace
	client, server := pair(t, sc, cc)

	initialCrypto := 0
	sizes := map[uint64]int{}
	hasInitial := map[uint64]bool{}
	for _, e := range cr.all() {
		if !e.Sent {
			continue
		}
		sizes[e.Datagram] = e.DatagramSize
		if e.Type == PacketInitial {
			hasInitial[e.Datagram] = true
			if hasFrame(e, "CRYPTO") {
				initialCrypto++
			}
		}
	}
	if initialCrypto < 2 {
		t.Errorf("got the ClientHello in %d Initial packets, want it split "+
			"across at least 2", initialCrypto)
	}
	for dg := range hasInitial {
		if sizes[dg] < MinInitialDatagram {
			t.Errorf("client datagram %d with an Initial is %d bytes, want "+
				">= 1200", dg, sizes[dg])
		}
	}
	// The client confirms the handshake on HANDSHAKE_DONE.
	deadline := time.Now().Add(5 * time.Second)
	for {
		client.mu.Lock()
		confirmed := client.handshakeConfirmed
		disc := client.spaces[spaceInitial].discarded &&
			client.spaces[spaceHandshake].discarded
		client.mu.Unlock()
		if confirmed && disc {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client: confirmed=%v keys discarded=%v, want both",
				confirmed, disc)
		}
		time.Sleep(time.Millisecond)
	}
	done := false
	for _, e := range sr.all() {
		if e.Sent && hasFrame(e, "HANDSHAKE_DONE") {
			done = e.Type == Packet1RTT
		}
	}
	if !done {
		t.Errorf("server sent no HANDSHAKE_DONE in a 1-RTT packet")
	}
	server.mu.Lock()
	defer server.mu.Unlock()
	if !server.spaces[spaceInitial].discarded ||
		!server.spaces[spaceHandshake].discarded {
		t.Errorf("server kept Initial or Handshake keys after confirmation")
	}
	if server.peerParams.initialMaxData != uint64(defaultConnWindow) {
		t.Errorf("server saw initial_max_data %d, want %d",
			server.peerParams.initialMaxData, defaultConnWindow)
	}
}
