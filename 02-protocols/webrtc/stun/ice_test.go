package stun

import (
	"bytes"
	"testing"
)

// TestICEAttributesOfTheVector reads the ICE attributes of RFC 5769's
// sample request, which is an ICE connectivity check: PRIORITY
// 0x6e0001ff and ICE-CONTROLLED 0x932ff9b151263b36.
func TestICEAttributesOfTheVector(t *testing.T) {
	m, err := Decode(sampleRequest)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := m.Priority(); err != nil || p != 0x6e0001ff {
		t.Errorf("got PRIORITY %#x, %v; want 0x6e0001ff", p, err)
	}
	ctl, tb, ok := m.ICERole()
	if !ok || ctl || tb != 0x932ff9b151263b36 {
		t.Errorf("got controlling=%v tiebreaker %#x ok=%v; want ICE-CONTROLLED 0x932ff9b151263b36",
			ctl, tb, ok)
	}
	if m.UseCandidate() {
		t.Error("got USE-CANDIDATE in a request without it")
	}
}

// TestBuildTheVector rebuilds RFC 5769's sample request from its parts
// with the ICE helpers; the integrity and fingerprint are computed.
func TestBuildTheVector(t *testing.T) {
	want, _ := Decode(sampleRequest)
	m := &Message{Type: BindingRequest, TransactionID: want.TransactionID}
	m.AddText(AttrSoftware, "STUN test client")
	m.AddPriority(0x6e0001ff)
	m.AddICERole(false, 0x932ff9b151263b36)
	// The vector pads USERNAME with spaces, not zeros.
	m.Attributes = append(m.Attributes, Attribute{Type: AttrUsername,
		Value: []byte("evtj:h6vY"), Pad: []byte("   ")})
	m.AddIntegrity(ShortTermKey(vectorPassword))
	m.AddFingerprint()
	if got := m.Encode(); !bytes.Equal(got, sampleRequest) {
		t.Errorf("built:\n got %x\nwant %x", got, sampleRequest)
	}
}

func TestICERoleRoundTrip(t *testing.T) {
	m := &Message{Type: BindingRequest, TransactionID: NewTransactionID()}
	m.AddICERole(true, 42)
	m.AddUseCandidate()
	back, err := Decode(m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	ctl, tb, ok := back.ICERole()
	if !ok || !ctl || tb != 42 || !back.UseCandidate() {
		t.Errorf("got controlling=%v tiebreaker %d ok=%v use=%v; want ICE-CONTROLLING 42 with USE-CANDIDATE",
			ctl, tb, ok, back.UseCandidate())
	}
	if _, err := back.Priority(); err == nil {
		t.Error("got a PRIORITY from a message without one")
	}
}
