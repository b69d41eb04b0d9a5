package h3

import "fmt"

// ErrCode is an HTTP/3 or QPACK error code, carried in CONNECTION_CLOSE,
// RESET_STREAM and STOP_SENDING (RFC 9114, Section 8.1; RFC 9204,
// Section 6).
type ErrCode uint64

// The HTTP/3 and QPACK error codes.
const (
	ErrCodeNoError                  ErrCode = 0x100
	ErrCodeGeneralProtocolError     ErrCode = 0x101
	ErrCodeInternalError            ErrCode = 0x102
	ErrCodeStreamCreationError      ErrCode = 0x103
	ErrCodeClosedCriticalStream     ErrCode = 0x104
	ErrCodeFrameUnexpected          ErrCode = 0x105
	ErrCodeFrameError               ErrCode = 0x106
	ErrCodeExcessiveLoad            ErrCode = 0x107
	ErrCodeIDError                  ErrCode = 0x108
	ErrCodeSettingsError            ErrCode = 0x109
	ErrCodeMissingSettings          ErrCode = 0x10a
	ErrCodeRequestRejected          ErrCode = 0x10b
	ErrCodeRequestCancelled         ErrCode = 0x10c
	ErrCodeRequestIncomplete        ErrCode = 0x10d
	ErrCodeMessageError             ErrCode = 0x10e
	ErrCodeConnectError             ErrCode = 0x10f
	ErrCodeVersionFallback          ErrCode = 0x110
	ErrCodeQPACKDecompressionFailed ErrCode = 0x200
	ErrCodeQPACKEncoderStreamError  ErrCode = 0x201
	ErrCodeQPACKDecoderStreamError  ErrCode = 0x202
)

var errNames = map[ErrCode]string{
	ErrCodeNoError: "H3_NO_ERROR", ErrCodeGeneralProtocolError: "H3_GENERAL_PROTOCOL_ERROR",
	ErrCodeInternalError: "H3_INTERNAL_ERROR", ErrCodeStreamCreationError: "H3_STREAM_CREATION_ERROR",
	ErrCodeClosedCriticalStream: "H3_CLOSED_CRITICAL_STREAM", ErrCodeFrameUnexpected: "H3_FRAME_UNEXPECTED",
	ErrCodeFrameError: "H3_FRAME_ERROR", ErrCodeExcessiveLoad: "H3_EXCESSIVE_LOAD",
	ErrCodeIDError: "H3_ID_ERROR", ErrCodeSettingsError: "H3_SETTINGS_ERROR",
	ErrCodeMissingSettings: "H3_MISSING_SETTINGS", ErrCodeRequestRejected: "H3_REQUEST_REJECTED",
	ErrCodeRequestCancelled: "H3_REQUEST_CANCELLED", ErrCodeRequestIncomplete: "H3_REQUEST_INCOMPLETE",
	ErrCodeMessageError: "H3_MESSAGE_ERROR", ErrCodeConnectError: "H3_CONNECT_ERROR",
	ErrCodeVersionFallback:          "H3_VERSION_FALLBACK",
	ErrCodeQPACKDecompressionFailed: "QPACK_DECOMPRESSION_FAILED",
	ErrCodeQPACKEncoderStreamError:  "QPACK_ENCODER_STREAM_ERROR",
	ErrCodeQPACKDecoderStreamError:  "QPACK_DECODER_STREAM_ERROR",
}

func (c ErrCode) String() string {
	if n, ok := errNames[c]; ok {
		return n
	}
	return fmt.Sprintf("ErrCode(%#x)", uint64(c))
}

// Error is an HTTP/3 error: a connection error closes the connection
// with Code, a stream error resets one request.
type Error struct {
	Code   ErrCode
	Reason string
}

func (e *Error) Error() string {
	if e.Reason == "" {
		return "h3: " + e.Code.String()
	}
	return "h3: " + e.Code.String() + ": " + e.Reason
}

func errorf(code ErrCode, format string, args ...any) *Error {
	return &Error{Code: code, Reason: fmt.Sprintf(format, args...)}
}
