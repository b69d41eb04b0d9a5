package quic

import (
	"errors"
	"fmt"
)

// TransportErrorCode is a transport error code carried in a
// CONNECTION_CLOSE frame of type 0x1c (RFC 9000, Section 20.1).
type TransportErrorCode uint64

// The transport error codes of RFC 9000, Section 20.1.
const (
	NoError                 TransportErrorCode = 0x00
	InternalError           TransportErrorCode = 0x01
	ConnectionRefused       TransportErrorCode = 0x02
	FlowControlError        TransportErrorCode = 0x03
	StreamLimitError        TransportErrorCode = 0x04
	StreamStateError        TransportErrorCode = 0x05
	FinalSizeError          TransportErrorCode = 0x06
	FrameEncodingError      TransportErrorCode = 0x07
	TransportParameterError TransportErrorCode = 0x08
	ConnectionIDLimitError  TransportErrorCode = 0x09
	ProtocolViolation       TransportErrorCode = 0x0a
	InvalidToken            TransportErrorCode = 0x0b
	ApplicationErrorCode    TransportErrorCode = 0x0c
	CryptoBufferExceeded    TransportErrorCode = 0x0d
	KeyUpdateError          TransportErrorCode = 0x0e
	AEADLimitReached        TransportErrorCode = 0x0f
	NoViablePath            TransportErrorCode = 0x10
	// CryptoErrorBase plus a TLS alert number is a CRYPTO_ERROR.
	CryptoErrorBase TransportErrorCode = 0x0100
)

var transportErrorNames = [...]string{
	"NO_ERROR", "INTERNAL_ERROR", "CONNECTION_REFUSED", "FLOW_CONTROL_ERROR",
	"STREAM_LIMIT_ERROR", "STREAM_STATE_ERROR", "FINAL_SIZE_ERROR",
	"FRAME_ENCODING_ERROR", "TRANSPORT_PARAMETER_ERROR",
	"CONNECTION_ID_LIMIT_ERROR", "PROTOCOL_VIOLATION", "INVALID_TOKEN",
	"APPLICATION_ERROR", "CRYPTO_BUFFER_EXCEEDED", "KEY_UPDATE_ERROR",
	"AEAD_LIMIT_REACHED", "NO_VIABLE_PATH",
}

func (c TransportErrorCode) String() string {
	if int(c) < len(transportErrorNames) {
		return transportErrorNames[c]
	}
	if c >= CryptoErrorBase && c <= CryptoErrorBase+0xff {
		return fmt.Sprintf("CRYPTO_ERROR(alert %d)", c-CryptoErrorBase)
	}
	return fmt.Sprintf("TransportErrorCode(%#x)", uint64(c))
}

// TransportError is a connection error at the transport layer: either
// one this endpoint detected (and sent to the peer in CONNECTION_CLOSE), or
// one the peer reported (Remote is true).
type TransportError struct {
	Code      TransportErrorCode
	FrameType uint64 // the frame that triggered it, if known
	Reason    string
	Remote    bool
}

func (e *TransportError) Error() string {
	who := "local"
	if e.Remote {
		who = "peer"
	}
	if e.Reason == "" {
		return fmt.Sprintf("quic: %s error %v", who, e.Code)
	}
	return fmt.Sprintf("quic: %s error %v: %s", who, e.Code, e.Reason)
}

// ApplicationError is a connection or stream error defined by the
// application protocol (HTTP/3 codes, for example). Closing a connection
// with one sends CONNECTION_CLOSE of type 0x1d; resetting a stream sends
// RESET_STREAM or STOP_SENDING with the code.
type ApplicationError struct {
	Code   uint64
	Reason string
	Remote bool
}

func (e *ApplicationError) Error() string {
	who := "local"
	if e.Remote {
		who = "peer"
	}
	if e.Reason == "" {
		return fmt.Sprintf("quic: %s application error %#x", who, e.Code)
	}
	return fmt.Sprintf("quic: %s application error %#x: %s", who, e.Code,
		e.Reason)
}

// StreamError reports that a stream was reset (RESET_STREAM, as seen by
// Read) or stopped (STOP_SENDING, as seen by Write), with the
// application's error code.
type StreamError struct {
	StreamID uint64
	Code     uint64
	Remote   bool
}

func (e *StreamError) Error() string {
	if e.Remote {
		return fmt.Sprintf("quic: stream %d reset by peer with code %#x",
			e.StreamID, e.Code)
	}
	return fmt.Sprintf("quic: stream %d reset with code %#x", e.StreamID,
		e.Code)
}

// Errors returned by the connection.
var (
	// ErrIdleTimeout is returned once a connection closed because no
	// packet arrived within the idle timeout (RFC 9000, Section 10.1).
	ErrIdleTimeout = errors.New("quic: idle timeout")
	// ErrStatelessReset is returned once the peer reset the connection
	// without state (RFC 9000, Section 10.3).
	ErrStatelessReset = errors.New("quic: stateless reset by peer")
	// ErrVersionNegotiation is returned by Dial when the server supports
	// none of the versions this endpoint speaks (only QUIC version 1).
	ErrVersionNegotiation = errors.New(
		"quic: server does not support QUIC version 1")
	// ErrChaCha20 is the handshake error when TLS negotiates
	// TLS_CHACHA20_POLY1305_SHA256: the standard library exposes no
	// ChaCha20 for packet and header protection. See doc.go.
	ErrChaCha20 = errors.New("quic: TLS_CHACHA20_POLY1305_SHA256 negotiated, " +
		"but this engine implements only the AES-GCM suites")
	// Err0RTTRejected is returned by a stream whose data was sent in
	// 0-RTT when the server rejected early data and the stream's data
	// could not be sent again (see Conn.EarlyDataRejected).
	Err0RTTRejected = errors.New("quic: 0-RTT rejected by the server")
)

// errorf returns a local transport error.
func errorf(code TransportErrorCode, format string, args ...any) *TransportError {
	return &TransportError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// frameError returns a local transport error caused by a frame type.
func frameError(code TransportErrorCode, ft uint64, format string, args ...any) *TransportError {
	return &TransportError{Code: code, FrameType: ft,
		Reason: fmt.Sprintf(format, args...)}
}
