package h1

import (
	"errors"
	"strconv"
)

// Error is a message the parser refused, with the status code a server
// answers it with (400, 413, 414, 431, 501, 505). A server that refuses a
// request this way also closes the connection: after a framing error it
// cannot know where the next request starts.
type Error struct {
	Status int    // the response status for a refused request
	Reason string // what was wrong, for logs and the response body
}

func (e *Error) Error() string {
	return "h1: " + strconv.Itoa(e.Status) + " " + e.Reason
}

func badRequest(reason string) error { return &Error{400, reason} }

// Errors a handler or client may see while reading a body.
var (
	// ErrBodyTooLarge is returned by a body read that passes
	// Limits.MaxBody; the server answers 413 if nothing was sent yet.
	ErrBodyTooLarge = &Error{413, "body exceeds the limit"}
	// ErrHeaderTooLarge is a header section over its byte or field limit.
	ErrHeaderTooLarge = &Error{431, "header section exceeds the limit"}
	// ErrLineTooLong is a request line over Limits.MaxLine.
	ErrLineTooLong = &Error{414, "request line exceeds the limit"}
)

// ErrHijacked is returned by ResponseWriter methods after Hijack.
var ErrHijacked = errors.New("h1: connection has been hijacked")

// StatusOf returns the status a server answers err with: the Error's own
// status, or 400 for anything else.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 400
}
