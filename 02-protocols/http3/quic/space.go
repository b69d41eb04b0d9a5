package quic

// pnSpace is one of the three packet number spaces (RFC 9000,
// Section 12.3): each has its own packet numbers, acknowledgments and
// loss recovery.
type pnSpace int

const (
	spaceInitial pnSpace = iota
	spaceHandshake
	spaceApp
	numSpaces
)

func (s pnSpace) String() string {
	return [...]string{"Initial", "Handshake", "Application"}[s]
}
