package grpcwire

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// maxTimeoutValue is the largest value grpc-timeout carries: "a positive
// integer as ASCII string of at most 8 digits".
const maxTimeoutValue = 99999999

var timeoutUnits = []struct {
	unit byte
	d    time.Duration
}{
	{'n', time.Nanosecond}, {'u', time.Microsecond}, {'m', time.Millisecond},
	{'S', time.Second}, {'M', time.Minute}, {'H', time.Hour},
}

// EncodeTimeout formats d for grpc-timeout in the finest unit whose value
// fits in 8 digits, rounding up so that the server never sees a deadline
// earlier than the client's. A deadline already passed is "0n".
func EncodeTimeout(d time.Duration) string {
	if d <= 0 {
		return "0n"
	}
	for _, u := range timeoutUnits {
		v := d / u.d
		if d%u.d != 0 {
			v++
		}
		if v <= maxTimeoutValue {
			return strconv.FormatInt(int64(v), 10) + string(u.unit)
		}
	}
	return strconv.Itoa(maxTimeoutValue) + "H" // not reached: ~11,400 years
}

// ErrBadTimeout is returned for a grpc-timeout that is not 1 to 8 digits
// and a unit (H, M, S, m, u, n).
var ErrBadTimeout = errors.New("grpcwire: malformed grpc-timeout")

// ParseTimeout reads a grpc-timeout value. Values beyond what a
// time.Duration holds (99999999H is 11,400 years) are capped.
func ParseTimeout(s string) (time.Duration, error) {
	if len(s) < 2 || len(s) > 9 {
		return 0, ErrBadTimeout
	}
	var v int64
	for i := 0; i < len(s)-1; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, ErrBadTimeout
		}
		v = v*10 + int64(c-'0')
	}
	for _, u := range timeoutUnits {
		if u.unit == s[len(s)-1] {
			if v > int64(math.MaxInt64/u.d) {
				return math.MaxInt64, nil
			}
			return time.Duration(v) * u.d, nil
		}
	}
	return 0, ErrBadTimeout
}
