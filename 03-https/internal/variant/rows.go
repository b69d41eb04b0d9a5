package variant

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"

	"backend-protocols/03-https/internal/lab"
)

// Row is one line of the chapter's comparison: a way to fetch, what the
// lecture predicts for it, and how to measure it on a lab (any visits it
// needs first, such as the one that leaves a session ticket, are made
// and not measured).
type Row struct {
	Name      string
	Predicted int
	// Measure runs the row's fetches on l and returns the measured one.
	Measure func(ctx context.Context, l *lab.Lab) (lab.Trip, error)
	// NeedsLink says the row cannot be measured on loopback.
	NeedsLink bool
}

// ErrNeedsLink is returned for a row that needs the emulated path.
var ErrNeedsLink = errors.New("needs network namespaces")

// Rows returns every variant built so far, in the lecture's order.
func Rows() []Row {
	return []Row{
		tlsRow("TCP + TLS 1.2", tls.VersionTLS12, false, 4, 0),
		tlsRow("TCP + TLS 1.2, resumed", tls.VersionTLS12, false, 3, 1),
		tlsRow("TCP + TLS 1.3", tls.VersionTLS13, false, 3, 0),
		tlsRow("TCP + TLS 1.3, resumed", tls.VersionTLS13, false, 3, 1),
		tlsRow("TFO + TLS 1.3", tls.VersionTLS13, true, 2, 1),
		earlyRow("TCP + TLS 1.3 0-RTT", false, 2),
		earlyRow("TFO + TLS 1.3 0-RTT", true, 1),
		quicRow("QUIC", false, 2),
		quicRow("QUIC 0-RTT", true, 1),
	}
}

// quicRow measures HTTP/3 over QUIC: a first visit, or with early a visit
// in 0-RTT after one that leaves a ticket.
func quicRow(name string, early bool, predicted int) Row {
	return Row{Name: name, Predicted: predicted,
		Measure: func(ctx context.Context, l *lab.Lab) (lab.Trip, error) {
			s, err := StartQUIC(l, early, early)
			if err != nil {
				return lab.Trip{}, err
			}
			defer s.Close()
			c := s.Client()
			if early {
				if _, err := c.Fetch(ctx, name, 2, http.MethodGet); err != nil {
					return lab.Trip{}, err
				}
			}
			t, err := c.Fetch(ctx, name, predicted, http.MethodGet)
			if err == nil && early && !t.EarlyData {
				err = fmt.Errorf("%s: the server refused the 0-RTT data", name)
			}
			return t, err
		}}
}

// earlyRow measures a GET sent as TLS 1.3 early data, after a first visit
// that leaves a ticket (and, with fastOpen, a Fast Open cookie).
func earlyRow(name string, fastOpen bool, predicted int) Row {
	return Row{Name: name, Predicted: predicted, NeedsLink: fastOpen,
		Measure: func(ctx context.Context, l *lab.Lab) (lab.Trip, error) {
			s, err := StartEarly(l, true)
			if err != nil {
				return lab.Trip{}, err
			}
			defer s.Close()
			c := s.Client()
			if _, err := c.Fetch(ctx, name, 3, http.MethodGet, fastOpen); err != nil {
				return lab.Trip{}, err
			}
			t, err := c.Fetch(ctx, name, predicted, http.MethodGet, fastOpen)
			if err == nil && !t.EarlyData {
				err = fmt.Errorf("%s: the server refused the early data", name)
			}
			return t, err
		}}
}

// tlsRow measures a TLS-over-TCP variant after prime unmeasured visits
// (which leave a session ticket, and a Fast Open cookie).
func tlsRow(name string, version uint16, fastOpen bool, predicted, prime int) Row {
	return Row{Name: name, Predicted: predicted, NeedsLink: fastOpen,
		Measure: func(ctx context.Context, l *lab.Lab) (lab.Trip, error) {
			s, err := StartTLS(l, TLSOptions{Version: version, FastOpen: fastOpen})
			if err != nil {
				return lab.Trip{}, err
			}
			defer s.Close()
			c := s.Client()
			for range prime {
				if _, err := c.Fetch(ctx, name, predicted); err != nil {
					return lab.Trip{}, err
				}
			}
			return c.Fetch(ctx, name, predicted)
		}}
}
