package certs

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// KeyLogEnv names the environment variable that asks for TLS secrets to be
// written out, in the NSS key log format Wireshark reads.
const KeyLogEnv = "SSLKEYLOGFILE"

var keyLog struct {
	once sync.Once
	w    io.Writer
}

// KeyLogWriter returns a writer that appends TLS secrets to the file named
// by SSLKEYLOGFILE, or nil (no key logging) when the variable is unset or
// the file cannot be opened; the latter is reported once on stderr. The file
// is opened once per process and shared by every connection, so secrets of
// concurrent handshakes never interleave within a line.
func KeyLogWriter() io.Writer {
	keyLog.once.Do(func() {
		path := os.Getenv(KeyLogEnv)
		if path == "" {
			return
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintf(os.Stderr, "certs: %s: %v (not logging keys)\n",
				KeyLogEnv, err)
			return
		}
		keyLog.w = &lockedWriter{w: f}
	})
	return keyLog.w
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
