package ws

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// CloseCode is the status code of a close frame (RFC 6455 section 7.4).
type CloseCode uint16

const (
	CloseNormal          CloseCode = 1000 // the purpose is fulfilled
	CloseGoingAway       CloseCode = 1001 // server going down, page left
	CloseProtocolError   CloseCode = 1002 // the peer broke the framing rules
	CloseUnsupportedData CloseCode = 1003 // a message type it cannot take
	CloseNoStatus        CloseCode = 1005 // never sent: a close without a code
	CloseAbnormal        CloseCode = 1006 // never sent: no close frame at all
	CloseInvalidData     CloseCode = 1007 // text that is not UTF-8
	ClosePolicyViolation CloseCode = 1008 // a generic "you broke the rules"
	CloseTooBig          CloseCode = 1009 // a message over the size limit
	CloseMandatoryExt    CloseCode = 1010 // client: an extension missing
	CloseInternalError   CloseCode = 1011 // server: something went wrong
	CloseServiceRestart  CloseCode = 1012 // IANA registry
	CloseTryAgainLater   CloseCode = 1013 // IANA registry
	CloseBadGateway      CloseCode = 1014 // IANA registry
	CloseTLSHandshake    CloseCode = 1015 // never sent: TLS failed
)

// valid reports whether the code may appear in a close frame on the wire:
// 1000-1003 and 1007-1014 from the RFC and the IANA registry, and
// 3000-4999 for libraries and applications. 1005, 1006 and 1015 are
// reserved for reporting and are never sent (section 7.4.1).
func (c CloseCode) valid() bool {
	return c >= 1000 && c <= 1003 || c >= 1007 && c <= 1014 ||
		c >= 3000 && c <= 4999
}

// CloseError is how a connection ended: the close frame the peer sent
// (Remote), or the code this end failed the connection with after the
// peer broke a rule (1002 protocol error, 1007 bad UTF-8, 1009 too big).
// A connection that dropped without any close frame reports 1006 and
// wraps the network error in Err.
type CloseError struct {
	Code   CloseCode
	Reason string
	Remote bool
	Err    error
}

func (e *CloseError) Error() string {
	who := "sent"
	if e.Remote {
		who = "received"
	}
	s := fmt.Sprintf("ws: close %d %s", e.Code, who)
	if e.Reason != "" {
		s += " (" + strconv.Quote(e.Reason) + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *CloseError) Unwrap() error { return e.Err }

// CloseStatus returns the close code in err, or CloseAbnormal if err
// holds none.
func CloseStatus(err error) CloseCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return CloseAbnormal
}

// parseClose decodes a close frame's payload: nothing, or a two-byte
// code and a UTF-8 reason (section 5.5.1).
func parseClose(p []byte) (*CloseError, error) {
	switch {
	case len(p) == 0:
		return &CloseError{Code: CloseNoStatus, Remote: true}, nil
	case len(p) == 1:
		return nil, &CloseError{Code: CloseProtocolError,
			Reason: "close frame with a one-byte payload"}
	}
	code := CloseCode(p[0])<<8 | CloseCode(p[1])
	if !code.valid() {
		return nil, &CloseError{Code: CloseProtocolError,
			Reason: "invalid close code " + strconv.Itoa(int(code))}
	}
	if !utf8.Valid(p[2:]) {
		return nil, &CloseError{Code: CloseInvalidData,
			Reason: "close reason is not UTF-8"}
	}
	return &CloseError{Code: code, Reason: string(p[2:]), Remote: true}, nil
}

// closePayload encodes a code and a reason cut to fit the 125 bytes of a
// control frame, at a character boundary.
func closePayload(code CloseCode, reason string) []byte {
	if code == 0 || code == CloseNoStatus {
		return nil
	}
	if len(reason) > 123 {
		reason = reason[:123]
		for len(reason) > 0 && !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}
