package ws

import "time"

// Options are the limits and hooks of a connection, for either side. A
// zero field takes its default.
type Options struct {
	// MaxMessageSize bounds a received message, all fragments together;
	// a larger one fails the connection with 1009. Default 1 MiB.
	MaxMessageSize int64
	// MaxFrameSize bounds one received frame's payload (1009 beyond).
	// Default: MaxMessageSize.
	MaxFrameSize int64
	// FragmentSize is the largest frame a MessageWriter sends; it
	// splits longer messages. Default 32 KiB.
	FragmentSize int
	// WriteTimeout bounds each frame write, so a peer that stops
	// reading cannot block a writer forever. Default 10s; negative
	// means none.
	WriteTimeout time.Duration
	// CloseTimeout bounds the wait for the peer's half of the close
	// handshake. Default 2s.
	CloseTimeout time.Duration
	// OnPing and OnPong, if set, are called from the reading goroutine
	// with each ping's or pong's payload. A ping is answered with a
	// pong before OnPing runs.
	OnPing, OnPong func(payload []byte)
	// Trace, if set, sees every frame sent and received, with its
	// payload unmasked (nil for received data frames read by Reader).
	// It is called from the reading and writing goroutines.
	Trace func(sent bool, h Header, payload []byte)
}

const (
	defaultMaxMessage   = 1 << 20
	defaultFragmentSize = 32 << 10
	defaultWriteTimeout = 10 * time.Second
	defaultCloseTimeout = 2 * time.Second
)

func (o *Options) resolved() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.MaxMessageSize <= 0 {
		r.MaxMessageSize = defaultMaxMessage
	}
	if r.MaxFrameSize <= 0 || r.MaxFrameSize > r.MaxMessageSize {
		r.MaxFrameSize = r.MaxMessageSize
	}
	if r.FragmentSize <= 0 {
		r.FragmentSize = defaultFragmentSize
	}
	if r.WriteTimeout == 0 {
		r.WriteTimeout = defaultWriteTimeout
	}
	if r.CloseTimeout <= 0 {
		r.CloseTimeout = defaultCloseTimeout
	}
	return r
}
