package quic

import (
	"math"
	"time"
)

// newReno is the congestion controller of RFC 9002, Section 7 and
// Appendix B: slow start, congestion avoidance, a recovery period per
// loss event, and a reset to the minimum window on persistent congestion.
type newReno struct {
	mds           int // max datagram size
	window        int
	ssthresh      int
	bytesInFlight int
	recoveryStart time.Time // zero when not in recovery
	inRecovery    bool
	// appLimited is set when the sender ran out of data before filling
	// the window; the window does not grow then (Section 7.8).
	appLimited bool
}

const lossReductionFactor = 0.5

func newNewReno(mds int) newReno {
	return newReno{mds: mds, window: initialWindow(mds),
		ssthresh: math.MaxInt}
}

// initialWindow is kInitialWindow: ten datagrams, bounded by 14720 bytes
// (RFC 9002, Section 7.2).
func initialWindow(mds int) int { return min(10*mds, max(14720, 2*mds)) }

func (r *newReno) minWindow() int { return 2 * r.mds }

func (r *newReno) onSent(bytes int) { r.bytesInFlight += bytes }

// canSend reports whether a packet of size bytes fits the window.
func (r *newReno) canSend(size int) bool {
	return r.bytesInFlight+size <= r.window
}

func (r *newReno) inCongestionRecovery(sent time.Time) bool {
	return r.inRecovery && !sent.After(r.recoveryStart)
}

func (r *newReno) onAcked(p *sentPacket) {
	if !p.inFlight {
		return
	}
	r.bytesInFlight -= p.size
	if r.appLimited || r.inCongestionRecovery(p.sent) {
		return
	}
	if r.window < r.ssthresh {
		r.window += p.size
	} else {
		r.window += r.mds * p.size / r.window
	}
}

func (r *newReno) onCongestionEvent(sent, now time.Time) {
	if r.inCongestionRecovery(sent) {
		return
	}
	r.inRecovery = true
	r.recoveryStart = now
	r.ssthresh = int(float64(r.window) * lossReductionFactor)
	r.window = max(r.ssthresh, r.minWindow())
}

func (r *newReno) onPersistentCongestion() {
	r.window = r.minWindow()
	r.inRecovery = false
}

// removeFromFlight forgets packets that will never be acknowledged:
// those of a discarded packet number space.
func (r *newReno) removeFromFlight(p *sentPacket) {
	if p.inFlight {
		r.bytesInFlight -= p.size
	}
}

// pacer spreads a window's worth of packets over a round trip instead of
// sending it in one burst (RFC 9002, Section 7.7): a token bucket refilled
// at 1.25 times the window per smoothed RTT, holding at most the initial
// window.
type pacer struct {
	budget int
	last   time.Time
}

// rate returns the pacing rate in bytes per second.
func pacingRate(window int, srtt time.Duration) float64 {
	srtt = max(srtt, time.Microsecond)
	return 1.25 * float64(window) / srtt.Seconds()
}

func (p *pacer) refill(now time.Time, rate float64, burst int) {
	if p.last.IsZero() {
		p.budget = burst
	} else if d := now.Sub(p.last); d > 0 {
		p.budget = min(burst, p.budget+int(rate*d.Seconds()))
	}
	p.last = now
}

// wait returns how long until size bytes may leave; zero if now.
func (p *pacer) wait(size int, rate float64) time.Duration {
	if p.budget >= size {
		return 0
	}
	return time.Duration(float64(size-p.budget) / rate * float64(time.Second))
}

func (p *pacer) onSent(size int) { p.budget -= size }
