package quic

import (
	"bytes"
	"fmt"
	"time"
)

// Transport parameter ids (RFC 9000, Section 18.2).
const (
	paramOriginalDCID          = 0x00
	paramMaxIdleTimeout        = 0x01
	paramStatelessResetToken   = 0x02
	paramMaxUDPPayloadSize     = 0x03
	paramInitialMaxData        = 0x04
	paramMaxStreamDataBidiLoc  = 0x05
	paramMaxStreamDataBidiRem  = 0x06
	paramMaxStreamDataUni      = 0x07
	paramInitialMaxStreamsBidi = 0x08
	paramInitialMaxStreamsUni  = 0x09
	paramAckDelayExponent      = 0x0a
	paramMaxAckDelay           = 0x0b
	paramDisableMigration      = 0x0c
	paramPreferredAddress      = 0x0d
	paramActiveConnIDLimit     = 0x0e
	paramInitialSCID           = 0x0f
	paramRetrySCID             = 0x10
)

// transportParams are the values each endpoint declares in the TLS
// handshake (RFC 9000, Section 18):
//
//	Transport Parameter {
//	  Transport Parameter ID (i),
//	  Transport Parameter Length (i),
//	  Transport Parameter Value (..),
//	}
type transportParams struct {
	originalDCID        []byte // server only
	retrySCID           []byte // server only, after a Retry
	initialSCID         []byte
	statelessResetToken []byte // server only, 16 bytes
	hasPreferredAddress bool   // server only; this engine ignores it

	maxIdleTimeout        time.Duration
	maxUDPPayloadSize     uint64
	initialMaxData        uint64
	maxStreamDataBidiLoc  uint64
	maxStreamDataBidiRem  uint64
	maxStreamDataUni      uint64
	initialMaxStreamsBidi uint64
	initialMaxStreamsUni  uint64
	ackDelayExponent      uint64
	maxAckDelay           time.Duration
	disableMigration      bool
	activeConnIDLimit     uint64

	hasRetrySCID bool
}

// defaultParams returns the values that apply when a parameter is absent.
func defaultParams() transportParams {
	return transportParams{
		maxUDPPayloadSize: 65527,
		ackDelayExponent:  3,
		maxAckDelay:       25 * time.Millisecond,
		activeConnIDLimit: 2,
	}
}

func appendParamVarint(b []byte, id, v uint64) []byte {
	b = AppendVarint(b, id)
	b = AppendVarint(b, uint64(VarintLen(v)))
	return AppendVarint(b, v)
}

func appendParamBytes(b []byte, id uint64, v []byte) []byte {
	b = AppendVarint(b, id)
	b = AppendVarint(b, uint64(len(v)))
	return append(b, v...)
}

// marshal encodes the parameters; values equal to their defaults are
// still sent where peers commonly expect them.
func (p *transportParams) marshal(isServer bool) []byte {
	var b []byte
	if isServer {
		b = appendParamBytes(b, paramOriginalDCID, p.originalDCID)
		if p.hasRetrySCID {
			b = appendParamBytes(b, paramRetrySCID, p.retrySCID)
		}
		if len(p.statelessResetToken) == 16 {
			b = appendParamBytes(b, paramStatelessResetToken,
				p.statelessResetToken)
		}
	}
	b = appendParamBytes(b, paramInitialSCID, p.initialSCID)
	if p.maxIdleTimeout > 0 {
		b = appendParamVarint(b, paramMaxIdleTimeout,
			uint64(p.maxIdleTimeout/time.Millisecond))
	}
	b = appendParamVarint(b, paramMaxUDPPayloadSize, p.maxUDPPayloadSize)
	b = appendParamVarint(b, paramInitialMaxData, p.initialMaxData)
	b = appendParamVarint(b, paramMaxStreamDataBidiLoc, p.maxStreamDataBidiLoc)
	b = appendParamVarint(b, paramMaxStreamDataBidiRem, p.maxStreamDataBidiRem)
	b = appendParamVarint(b, paramMaxStreamDataUni, p.maxStreamDataUni)
	b = appendParamVarint(b, paramInitialMaxStreamsBidi, p.initialMaxStreamsBidi)
	b = appendParamVarint(b, paramInitialMaxStreamsUni, p.initialMaxStreamsUni)
	if p.ackDelayExponent != 3 {
		b = appendParamVarint(b, paramAckDelayExponent, p.ackDelayExponent)
	}
	if p.maxAckDelay != 25*time.Millisecond {
		b = appendParamVarint(b, paramMaxAckDelay,
			uint64(p.maxAckDelay/time.Millisecond))
	}
	if p.disableMigration {
		b = appendParamBytes(b, paramDisableMigration, nil)
	}
	b = appendParamVarint(b, paramActiveConnIDLimit, p.activeConnIDLimit)
	return b
}

// paramError is a TRANSPORT_PARAMETER_ERROR.
func paramError(format string, args ...any) error {
	return errorf(TransportParameterError, format, args...)
}

// parseTransportParams decodes and checks the parameters the peer sent.
// fromServer says which side sent them: a client must not send the
// server-only parameters. Unknown parameters are ignored, duplicates
// and out-of-range values are TRANSPORT_PARAMETER_ERROR (Section 7.4).
func parseTransportParams(b []byte, fromServer bool) (transportParams, error) {
	p := defaultParams()
	seen := make(map[uint64]bool)
	r := reader{b: b}
	for len(r.b) > 0 {
		id := r.varint()
		val := r.bytes(r.varint())
		if r.err != nil {
			return p, paramError("malformed transport parameters")
		}
		if id <= paramRetrySCID {
			if seen[id] {
				return p, paramError("duplicate transport parameter %#x", id)
			}
			seen[id] = true
		}
		vr := reader{b: val}
		num := func() uint64 {
			v := vr.varint()
			if vr.err != nil || len(vr.b) != 0 {
				vr.fail(fmt.Errorf("parameter %#x is not one varint", id))
			}
			return v
		}
		switch id {
		case paramOriginalDCID, paramRetrySCID, paramStatelessResetToken,
			paramPreferredAddress:
			if !fromServer {
				return p, paramError("client sent server-only parameter %#x", id)
			}
		}
		switch id {
		case paramOriginalDCID:
			p.originalDCID = bytes.Clone(val)
		case paramRetrySCID:
			p.retrySCID = bytes.Clone(val)
			p.hasRetrySCID = true
		case paramInitialSCID:
			p.initialSCID = bytes.Clone(val)
		case paramStatelessResetToken:
			if len(val) != 16 {
				return p, paramError("stateless_reset_token of %d bytes", len(val))
			}
			p.statelessResetToken = bytes.Clone(val)
		case paramPreferredAddress:
			p.hasPreferredAddress = true
		case paramMaxIdleTimeout:
			p.maxIdleTimeout = time.Duration(min(num(), 1<<40)) * time.Millisecond
		case paramMaxUDPPayloadSize:
			p.maxUDPPayloadSize = num()
			if p.maxUDPPayloadSize < 1200 {
				return p, paramError("max_udp_payload_size %d below 1200",
					p.maxUDPPayloadSize)
			}
		case paramInitialMaxData:
			p.initialMaxData = num()
		case paramMaxStreamDataBidiLoc:
			p.maxStreamDataBidiLoc = num()
		case paramMaxStreamDataBidiRem:
			p.maxStreamDataBidiRem = num()
		case paramMaxStreamDataUni:
			p.maxStreamDataUni = num()
		case paramInitialMaxStreamsBidi:
			p.initialMaxStreamsBidi = num()
			if p.initialMaxStreamsBidi > maxStreams {
				return p, paramError("initial_max_streams_bidi above 2^60")
			}
		case paramInitialMaxStreamsUni:
			p.initialMaxStreamsUni = num()
			if p.initialMaxStreamsUni > maxStreams {
				return p, paramError("initial_max_streams_uni above 2^60")
			}
		case paramAckDelayExponent:
			p.ackDelayExponent = num()
			if p.ackDelayExponent > 20 {
				return p, paramError("ack_delay_exponent %d above 20",
					p.ackDelayExponent)
			}
		case paramMaxAckDelay:
			v := num()
			if v >= 1<<14 {
				return p, paramError("max_ack_delay %d of 2^14 ms or more", v)
			}
			p.maxAckDelay = time.Duration(v) * time.Millisecond
		case paramDisableMigration:
			if len(val) != 0 {
				return p, paramError("disable_active_migration with a value")
			}
			p.disableMigration = true
		case paramActiveConnIDLimit:
			p.activeConnIDLimit = num()
			if p.activeConnIDLimit < 2 {
				return p, paramError("active_connection_id_limit %d below 2",
					p.activeConnIDLimit)
			}
		}
		if vr.err != nil {
			return p, paramError("%v", vr.err)
		}
	}
	if !seen[paramInitialSCID] {
		return p, paramError("initial_source_connection_id missing")
	}
	if fromServer && !seen[paramOriginalDCID] {
		return p, paramError("original_destination_connection_id missing")
	}
	return p, nil
}
