package quic

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestTransportParamsRoundTrip(t *testing.T) {
	p := defaultParams()
	p.originalDCID = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	p.initialSCID = []byte{9, 9}
	p.statelessResetToken = bytes.Repeat([]byte{7}, 16)
	p.maxIdleTimeout = 30 * time.Second
	p.maxUDPPayloadSize = 1452
	p.initialMaxData = 1 << 22
	p.maxStreamDataBidiLoc = 1 << 20
	p.maxStreamDataBidiRem = 1 << 19
	p.maxStreamDataUni = 1 << 18
	p.initialMaxStreamsBidi = 100
	p.initialMaxStreamsUni = 3
	p.maxAckDelay = 10 * time.Millisecond
	p.activeConnIDLimit = 4
	got, err := parseTransportParams(p.marshal(true), true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.originalDCID, p.originalDCID) ||
		!bytes.Equal(got.initialSCID, p.initialSCID) ||
		got.maxIdleTimeout != p.maxIdleTimeout ||
		got.initialMaxData != p.initialMaxData ||
		got.maxStreamDataBidiRem != p.maxStreamDataBidiRem ||
		got.initialMaxStreamsUni != 3 || got.maxAckDelay != p.maxAckDelay ||
		got.activeConnIDLimit != 4 || len(got.statelessResetToken) != 16 {
		t.Errorf("round trip: got %+v", got)
	}
}

func TestTransportParamsRejected(t *testing.T) {
	scid := appendParamBytes(nil, paramInitialSCID, []byte{1})
	cases := []struct {
		name       string
		b          []byte
		fromServer bool
	}{
		{"duplicate", appendParamVarint(appendParamVarint(scid,
			paramInitialMaxData, 1), paramInitialMaxData, 2), false},
		{"client sends original dcid", appendParamBytes(scid,
			paramOriginalDCID, []byte{1}), false},
		{"client sends reset token", appendParamBytes(scid,
			paramStatelessResetToken, make([]byte, 16)), false},
		{"payload below 1200", appendParamVarint(scid,
			paramMaxUDPPayloadSize, 1199), false},
		{"ack delay exponent 21", appendParamVarint(scid,
			paramAckDelayExponent, 21), false},
		{"max ack delay 2^14", appendParamVarint(scid,
			paramMaxAckDelay, 1<<14), false},
		{"connection id limit 1", appendParamVarint(scid,
			paramActiveConnIDLimit, 1), false},
		{"streams above 2^60", appendParamVarint(scid,
			paramInitialMaxStreamsBidi, 1<<60+1), false},
		{"no initial scid", appendParamVarint(nil, paramInitialMaxData, 1), false},
		{"server without original dcid", scid, true},
		{"truncated", append(scid, 0x04, 0x05, 0x01), false},
		{"value not one varint", append(scid, 0x04, 0x02, 0x01, 0x01), false},
	}
	for _, tc := range cases {
		_, err := parseTransportParams(tc.b, tc.fromServer)
		var te *TransportError
		if !errors.As(err, &te) || te.Code != TransportParameterError {
			t.Errorf("%s: got %v, want TRANSPORT_PARAMETER_ERROR", tc.name, err)
		}
	}
	// Unknown and reserved (31*N+27) parameters are ignored.
	b := appendParamBytes(scid, 31*5+27, []byte("grease"))
	if _, err := parseTransportParams(b, false); err != nil {
		t.Errorf("reserved parameter: got %v, want it ignored", err)
	}
}

func FuzzTransportParams(f *testing.F) {
	p := defaultParams()
	p.initialSCID = []byte{1}
	p.originalDCID = []byte{2}
	f.Add(p.marshal(true), true)
	f.Add(p.marshal(false), false)
	f.Fuzz(func(t *testing.T, b []byte, fromServer bool) {
		parseTransportParams(b, fromServer)
	})
}
