package stun

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// Client runs Binding transactions. The zero value uses the RFC's
// defaults.
type Client struct {
	RTO time.Duration // initial retransmission timeout; 500 ms if zero
	Rc  int           // requests sent at most; 7 if zero
	Rm  int           // final wait, in initial RTOs; 16 if zero
	Ti  time.Duration // TCP transaction timeout; 39.5 s if zero

	Software string
	// Username and Password, if set, sign requests with short-term
	// credentials (MESSAGE-INTEGRITY-SHA256 and MESSAGE-INTEGRITY), and
	// responses must be signed back.
	Username, Password string

	// OnSend, if set, is called before each transmission with the attempt
	// number (from 1) and the time since the transaction began.
	OnSend func(attempt int, since time.Duration)
}

// Result is what a successful Binding transaction learned.
type Result struct {
	Mapped   netip.AddrPort // the reflexive transport address
	RTT      time.Duration  // from the last transmission to the response
	Attempts int            // requests sent
	Response *Message
}

// ErrTimeout means no response came within the retransmission schedule.
var ErrTimeout = errors.New("stun: transaction timed out")

func (c *Client) defaults() (rto time.Duration, rc, rm int, ti time.Duration) {
	rto, rc, rm, ti = c.RTO, c.Rc, c.Rm, c.Ti
	if rto <= 0 {
		rto = 500 * time.Millisecond
	}
	if rc <= 0 {
		rc = 7
	}
	if rm <= 0 {
		rm = 16
	}
	if ti <= 0 {
		ti = 39500 * time.Millisecond
	}
	return
}

// request builds a Binding request.
func (c *Client) request() *Message {
	m := &Message{Type: BindingRequest, TransactionID: NewTransactionID()}
	if c.Software != "" {
		m.AddText(AttrSoftware, c.Software)
	}
	if c.Username != "" {
		m.AddText(AttrUsername, c.Username)
		m.AddIntegritySHA256(ShortTermKey(c.Password))
		m.AddIntegrity(ShortTermKey(c.Password))
	}
	m.AddFingerprint()
	return m
}

// accept checks a response to req and extracts the result (sections 6.3.3
// and 6.3.4). ok is false for a message that is not a response to req and
// should be ignored.
func (c *Client) accept(req *Message, b []byte) (Result, bool, error) {
	resp, err := Decode(b)
	if err != nil || resp.TransactionID != req.TransactionID ||
		resp.Type.Method != MethodBinding {
		return Result{}, false, nil
	}
	if _, ok := resp.Get(AttrFingerprint); ok && resp.CheckFingerprint() != nil {
		return Result{}, false, nil
	}
	switch resp.Type.Class {
	case ClassError:
		ec, err := resp.ErrorCode()
		if err != nil {
			return Result{}, true, fmt.Errorf("stun: error response without ERROR-CODE")
		}
		return Result{Response: resp}, true, ec
	case ClassSuccess:
	default:
		return Result{}, false, nil
	}
	if u := resp.UnknownRequired(); len(u) > 0 {
		return Result{}, true, fmt.Errorf("stun: response with unknown attributes %v", u)
	}
	if c.Username != "" {
		if err := resp.CheckIntegrity(ShortTermKey(c.Password)); err != nil {
			return Result{}, true, err
		}
	}
	mapped, err := resp.XORMappedAddress()
	if err != nil {
		return Result{}, true, err
	}
	return Result{Mapped: mapped, Response: resp}, true, nil
}

// BindingUDP asks the server at addr for conn's reflexive address,
// retransmitting as section 6.2.1 says: after RTO, then 2, 4, 8... RTOs,
// Rc requests in all, then waiting Rm initial RTOs before giving up.
func (c *Client) BindingUDP(ctx context.Context, conn *net.UDPConn, addr netip.AddrPort) (Result, error) {
	rto, rc, rm, _ := c.defaults()
	req := c.request()
	wire := req.Encode()
	start := time.Now()
	buf := make([]byte, MaxMessage+1)
	wait, sentAt := rto, start
	for attempt := 1; attempt <= rc; attempt++ {
		if c.OnSend != nil {
			c.OnSend(attempt, time.Since(start))
		}
		sentAt = time.Now()
		if _, err := conn.WriteToUDPAddrPort(wire, addr); err != nil {
			return Result{}, err
		}
		if attempt == rc {
			wait = time.Duration(rm) * rto
		}
		deadline := sentAt.Add(wait)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		for {
			conn.SetReadDeadline(deadline)
			n, _, err := conn.ReadFromUDPAddrPort(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if ctx.Err() != nil {
					return Result{}, ctx.Err()
				}
				break // retransmit
			}
			if err != nil {
				return Result{}, err // a hard ICMP error fails the transaction
			}
			res, ok, err := c.accept(req, buf[:n])
			if !ok {
				continue
			}
			res.Attempts, res.RTT = attempt, time.Since(sentAt)
			return res, err
		}
		wait *= 2
	}
	return Result{Attempts: rc}, ErrTimeout
}

// BindingTCP runs a Binding transaction on an open TCP connection; TCP
// retransmits, so the client only waits up to Ti (section 6.2.2).
func (c *Client) BindingTCP(ctx context.Context, conn net.Conn) (Result, error) {
	_, _, _, ti := c.defaults()
	req := c.request()
	if c.OnSend != nil {
		c.OnSend(1, 0)
	}
	start := time.Now()
	deadline := start.Add(ti)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(req.Encode()); err != nil {
		return Result{}, err
	}
	for {
		b, err := ReadTCP(conn)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return Result{Attempts: 1}, ErrTimeout
		}
		if err != nil {
			return Result{}, err
		}
		res, ok, err := c.accept(req, b)
		if !ok {
			continue
		}
		res.Attempts, res.RTT = 1, time.Since(start)
		return res, err
	}
}
