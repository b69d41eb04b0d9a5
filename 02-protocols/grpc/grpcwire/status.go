package grpcwire

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"golang.org/x/net/http2"
)

// Code is a gRPC status code (statuscodes.md in ../../shared/rfc/grpc-testing).
type Code uint32

// The status codes.
const (
	OK                 Code = 0
	Canceled           Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

var codeNames = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "CODE(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// Status is the outcome of a call: what grpc-status and grpc-message
// carry. A non-OK *Status is also the error a call returns.
type Status struct {
	Code    Code
	Message string
}

func (s *Status) Error() string {
	return fmt.Sprintf("rpc error: code = %v desc = %s", s.Code, s.Message)
}

// Errorf returns a status error with code c.
func Errorf(c Code, format string, args ...any) error {
	return &Status{Code: c, Message: fmt.Sprintf(format, args...)}
}

// StatusOf turns an error into the status a call ends with: nil is OK, a
// *Status is itself, context errors become DEADLINE_EXCEEDED and
// CANCELLED, and anything else is UNKNOWN, as when a handler fails
// without saying how.
func StatusOf(err error) *Status {
	var s *Status
	switch {
	case err == nil:
		return &Status{Code: OK}
	case errors.As(err, &s):
		return s
	case errors.Is(err, context.DeadlineExceeded):
		return &Status{Code: DeadlineExceeded, Message: err.Error()}
	case errors.Is(err, context.Canceled):
		return &Status{Code: Canceled, Message: err.Error()}
	}
	return &Status{Code: Unknown, Message: err.Error()}
}

// CodeOf is StatusOf(err).Code.
func CodeOf(err error) Code { return StatusOf(err).Code }

// statusFromHTTP synthesizes a status for a response that is not gRPC's:
// a proxy's error page, say (the mapping of gRPC's
// http-grpc-status-mapping.md).
func statusFromHTTP(code int) *Status {
	c := Unknown
	switch code {
	case http.StatusBadRequest:
		c = Internal
	case http.StatusUnauthorized:
		c = Unauthenticated
	case http.StatusForbidden:
		c = PermissionDenied
	case http.StatusNotFound:
		c = Unimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		c = Unavailable
	}
	return &Status{Code: c, Message: fmt.Sprintf("HTTP status %d %s",
		code, http.StatusText(code))}
}

// statusFromReset maps an RST_STREAM error code to a status, as
// PROTOCOL-HTTP2.md's table does.
func statusFromReset(code http2.ErrCode) *Status {
	c := Internal
	switch code {
	case http2.ErrCodeRefusedStream:
		c = Unavailable
	case http2.ErrCodeCancel:
		c = Canceled
	case http2.ErrCodeEnhanceYourCalm:
		c = ResourceExhausted
	case http2.ErrCodeInadequateSecurity:
		c = PermissionDenied
	}
	return &Status{Code: c, Message: "stream reset by the server: " + code.String()}
}
