package quic

// connFlow is connection-level flow control (RFC 9000, Section 4.1):
// the sum of the highest offsets of all streams is bounded by MAX_DATA in
// each direction.
type connFlow struct {
	// Receiving.
	recvMax        uint64 // the limit we advertised
	recvd          uint64 // sum of the highest offsets received
	consumed       uint64 // bytes read or discarded by the application
	window         uint64
	maxDataPending bool

	// Sending.
	sendMax     uint64 // the peer's MAX_DATA
	sent        uint64 // sum of the highest offsets sent
	blockedAt   uint64 // the limit a DATA_BLOCKED was sent for
	blockedSend bool
}

func (f *connFlow) init(cfg *Config) {
	f.window = uint64(cfg.MaxConnReadBuffer)
	f.recvMax = f.window
}

// onReceived counts n new bytes from the peer against MAX_DATA.
func (f *connFlow) onReceived(n uint64) error {
	f.recvd += n
	if f.recvd > f.recvMax {
		return errorf(FlowControlError,
			"connection data %d past the limit %d", f.recvd, f.recvMax)
	}
	return nil
}

// onConsumed credits n bytes and reports whether MAX_DATA is due: when
// half the window is used, it moves to the consumed offset plus the
// window.
func (f *connFlow) onConsumed(n uint64) bool {
	f.consumed += n
	if f.recvMax-f.consumed < f.window/2 {
		f.recvMax = f.consumed + f.window
		f.maxDataPending = true
		return true
	}
	return false
}

// allowance returns how many new bytes the connection may still send.
func (f *connFlow) allowance() uint64 {
	if f.sent >= f.sendMax {
		return 0
	}
	return f.sendMax - f.sent
}
