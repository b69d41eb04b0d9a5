package wire

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
)

// maxKeyLogEntries bounds how many handshakes a KeyLog remembers.
const maxKeyLogEntries = 4096

// KeyLog collects the secrets that TLS stacks write in the NSS key log
// format (the SSLKEYLOGFILE format: "LABEL client_random secret", in hex)
// and passes every line on to another writer, such as the SSLKEYLOGFILE
// writer from internal/certs. Set it as a tls.Config's KeyLogWriter; it is
// safe for concurrent use.
type KeyLog struct {
	mu      sync.Mutex
	tee     io.Writer
	partial []byte
	secrets map[string]map[string][]byte // client random (raw) -> label -> secret
}

// NewKeyLog returns an empty key log that copies what it is given to tee,
// if tee is not nil.
func NewKeyLog(tee io.Writer) *KeyLog {
	return &KeyLog{tee: tee, secrets: make(map[string]map[string][]byte)}
}

// Write records every complete line of p.
func (k *KeyLog) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tee != nil {
		k.tee.Write(p) // the file is a convenience; its errors are not ours
	}
	k.partial = append(k.partial, p...)
	for {
		i := bytes.IndexByte(k.partial, '\n')
		if i < 0 {
			break
		}
		k.line(k.partial[:i])
		k.partial = k.partial[i+1:]
	}
	if len(k.partial) > 4096 {
		k.partial = nil // not a key log
	}
	return len(p), nil
}

func (k *KeyLog) line(l []byte) {
	f := bytes.Fields(l)
	if len(f) != 3 || bytes.HasPrefix(f[0], []byte("#")) {
		return
	}
	random, err1 := hex.DecodeString(string(f[1]))
	secret, err2 := hex.DecodeString(string(f[2]))
	if err1 != nil || err2 != nil || len(random) != 32 {
		return
	}
	m := k.secrets[string(random)]
	if m == nil {
		if len(k.secrets) >= maxKeyLogEntries {
			return
		}
		m = make(map[string][]byte)
		k.secrets[string(random)] = m
	}
	m[string(f[0])] = secret
}

// Secret returns the secret logged under label (such as
// "CLIENT_HANDSHAKE_TRAFFIC_SECRET") for the handshake whose ClientHello
// carried clientRandom, or nil.
func (k *KeyLog) Secret(clientRandom []byte, label string) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.secrets[string(clientRandom)][label]
}

// All returns every secret logged under label, for a TLS 1.2 resumption:
// Go logs no line for it, and the session reuses the master secret of the
// handshake that made the ticket, which a decoder finds by trial.
func (k *KeyLog) All(label string) [][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out [][]byte
	for _, m := range k.secrets {
		if s := m[label]; s != nil {
			out = append(out, s)
		}
	}
	return out
}

// WriteTo writes every secret in the NSS key log format, for a tool that
// reads a file (tshark -o tls.keylog_file:FILE).
func (k *KeyLog) WriteTo(w io.Writer) (int64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var n int64
	for random, m := range k.secrets {
		for label, secret := range m {
			c, err := fmt.Fprintf(w, "%s %x %x\n", label, random, secret)
			n += int64(c)
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}
