package h1

import (
	"bufio"
	"strconv"
)

// writeChunk writes one chunk: size in hex, CRLF, data, CRLF (RFC 9112
// section 7.1). An empty p writes nothing: a zero size would end the body.
func writeChunk(bw *bufio.Writer, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	writeHex(bw, uint64(len(p)))
	bw.WriteString("\r\n")
	bw.Write(p)
	_, err := bw.WriteString("\r\n")
	return err
}

// writeLastChunk ends a chunked body: "0" CRLF, the trailer fields, CRLF.
func writeLastChunk(bw *bufio.Writer, trailer Header) error {
	bw.WriteString("0\r\n")
	writeFields(bw, trailer)
	_, err := bw.WriteString("\r\n")
	return err
}

// writeFields writes field lines; the caller has checked them.
func writeFields(bw *bufio.Writer, h Header) {
	for _, f := range h {
		bw.WriteString(f.Name)
		bw.WriteString(": ")
		bw.WriteString(f.Value)
		bw.WriteString("\r\n")
	}
}

// checkFields reports the first field a sender must not put on the wire:
// a name that is not a token, or a value with CR, LF or another control
// byte, which would split the message (response splitting).
func checkFields(h Header) error {
	for _, f := range h {
		if !validToken(f.Name) {
			return &Error{500, "invalid field name " + strconv.Quote(f.Name)}
		}
		if !validValue(f.Value) {
			return &Error{500, "invalid value in field " + f.Name}
		}
	}
	return nil
}

// writeHex writes n in lower-case hex without allocating.
func writeHex(bw *bufio.Writer, n uint64) {
	shift := 60
	for shift > 0 && n>>shift == 0 {
		shift -= 4
	}
	for ; shift >= 0; shift -= 4 {
		bw.WriteByte("0123456789abcdef"[n>>shift&0xf])
	}
}

// writeDecimal writes a non-negative n in decimal without allocating.
func writeDecimal(bw *bufio.Writer, n int64) {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			break
		}
	}
	for _, c := range d[i:] {
		bw.WriteByte(c)
	}
}
