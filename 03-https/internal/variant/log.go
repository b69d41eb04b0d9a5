package variant

import (
	"io"
	"log"
)

// quietLog keeps net/http's server log (such as TLS handshake errors from
// a client that hung up) out of the demo's narrative.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
