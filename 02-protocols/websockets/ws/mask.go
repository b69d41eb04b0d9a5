package ws

import "encoding/binary"

// maskBytes XORs b with the masking key (RFC 6455 section 5.3), starting
// pos bytes into the key's four-byte cycle, and returns the position
// after b. Masking is its own inverse: the same call unmasks. Eight
// bytes at a time, since a 64 KiB message is 16384 key cycles.
func maskBytes(key [4]byte, pos int, b []byte) int {
	if len(b) >= 16 {
		var k [4]byte
		for i := range k {
			k[i] = key[(pos+i)&3]
		}
		k32 := uint64(binary.LittleEndian.Uint32(k[:]))
		k64 := k32 | k32<<32
		for len(b) >= 8 {
			v := binary.LittleEndian.Uint64(b)
			binary.LittleEndian.PutUint64(b, v^k64)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[pos&3]
		pos++
	}
	return pos & 3
}
