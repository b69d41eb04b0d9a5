package ws

import "errors"

// MessageWriter sends one data message as a series of frames (section
// 5.4): the first carries the message's opcode, the rest are
// continuations, and only the last has FIN set. Control frames (a ping,
// a pong) may go out between them. Other data messages wait until Close.
type MessageWriter struct {
	c      *Conn
	op     Opcode // the opcode of the next frame: the type, then CONT
	buf    []byte
	text   utf8State
	isText bool
	done   bool
}

// NextWriter starts a message of the given type. Write appends to it,
// Flush sends what was written as one non-final frame, Close sends the
// rest as the final frame. A message over FragmentSize is split at that
// size without waiting for Flush.
func (c *Conn) NextWriter(typ MessageType) (*MessageWriter, error) {
	if typ != OpText && typ != OpBinary {
		return nil, errors.New("ws: NextWriter needs OpText or OpBinary")
	}
	c.msg <- struct{}{}
	return &MessageWriter{c: c, op: typ, isText: typ == OpText}, nil
}

// Write appends p to the message.
func (w *MessageWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("ws: write to a closed message")
	}
	if w.isText && !w.text.feed(p) {
		return 0, ErrInvalidUTF8
	}
	w.buf = append(w.buf, p...)
	for len(w.buf) > w.c.opt.FragmentSize {
		if err := w.frame(false, w.buf[:w.c.opt.FragmentSize]); err != nil {
			return 0, err
		}
		w.buf = w.buf[:copy(w.buf, w.buf[w.c.opt.FragmentSize:])]
	}
	return len(p), nil
}

// Flush sends what was written since the last frame as a non-final
// frame, so the peer sees a fragment now.
func (w *MessageWriter) Flush() error {
	if w.done {
		return errors.New("ws: flush of a closed message")
	}
	if len(w.buf) == 0 {
		return nil
	}
	err := w.frame(false, w.buf)
	w.buf = w.buf[:0]
	return err
}

// Close sends the final frame and lets the next message go.
func (w *MessageWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	defer func() { <-w.c.msg }()
	if w.isText && !w.text.complete() {
		// The message cannot be finished honestly, nor another begun.
		w.c.wmu.Lock()
		w.c.writeErr = ErrInvalidUTF8
		w.c.wmu.Unlock()
		return ErrInvalidUTF8
	}
	return w.frame(true, w.buf)
}

func (w *MessageWriter) frame(fin bool, p []byte) error {
	err := w.c.writeFrame(fin, w.op, p)
	w.op = OpContinuation
	return err
}
