package clienthello

// cursor reads big-endian fields from a byte slice. The first read past
// the end sets ok to false, and every later read returns zero values, so
// a parse checks ok once per structure instead of after every field.
type cursor struct {
	b  []byte
	ok bool
}

func newCursor(b []byte) *cursor { return &cursor{b: b, ok: true} }

func (c *cursor) empty() bool { return len(c.b) == 0 }

func (c *cursor) bytes(n int) []byte {
	if !c.ok || n > len(c.b) {
		c.ok = false
		c.b = nil
		return nil
	}
	v := c.b[:n]
	c.b = c.b[n:]
	return v
}

func (c *cursor) u8() int {
	b := c.bytes(1)
	if b == nil {
		return 0
	}
	return int(b[0])
}

func (c *cursor) u16() int {
	b := c.bytes(2)
	if b == nil {
		return 0
	}
	return int(b[0])<<8 | int(b[1])
}

func (c *cursor) u24() int {
	b := c.bytes(3)
	if b == nil {
		return 0
	}
	return int(b[0])<<16 | int(b[1])<<8 | int(b[2])
}

// vec8 and vec16 read a vector with a 1- or 2-byte length prefix; a
// vector cut short leaves both cursors failed.
func (c *cursor) vec8() *cursor  { return c.sub(c.u8()) }
func (c *cursor) vec16() *cursor { return c.sub(c.u16()) }

func (c *cursor) sub(n int) *cursor {
	b := c.bytes(n)
	return &cursor{b: b, ok: c.ok}
}
