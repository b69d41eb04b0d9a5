package earlytls

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// scripted is a connection whose peer says exactly the given bytes and
// then hangs up; what is written to it is kept.
type scripted struct {
	r       *bytes.Reader
	written bytes.Buffer
}

func (s *scripted) Read(b []byte) (int, error)       { return s.r.Read(b) }
func (s *scripted) Write(b []byte) (int, error)      { return s.written.Write(b) }
func (s *scripted) Close() error                     { return nil }
func (s *scripted) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (s *scripted) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (s *scripted) SetDeadline(time.Time) error      { return nil }
func (s *scripted) SetReadDeadline(time.Time) error  { return nil }
func (s *scripted) SetWriteDeadline(time.Time) error { return nil }

func script(b []byte) *scripted { return &scripted{r: bytes.NewReader(b)} }

// peer returns what was written to the connection.
func (s *scripted) peer() []byte { return s.written.Bytes() }

// firstFlight returns a real client's first flight (a ClientHello, and
// early data if early is set) and the pair it was made with.
func firstFlight(t testing.TB, early bool) ([]byte, *pair) {
	p := newPair(t, nil)
	s := newEchoServer(t, p.server)
	if early {
		roundTrip(t, s.addr, p.client, "prime")
	}
	conn := script(nil)
	c := Client(conn, p.client)
	c.Write([]byte("GET / HTTP/1.1\r\n\r\n")) // fails after the flight: EOF
	c.Close()
	return conn.peer(), p
}

// FuzzServer feeds a server whatever a client might send: it must end
// with an error or EOF, never panic or hang.
func FuzzServer(f *testing.F) {
	flight, p := firstFlight(f, true)
	f.Add(flight)
	f.Add(flight[:len(flight)/2])
	f.Add(append(append([]byte(nil), flight...), 23, 3, 3, 0, 20))
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Server(script(b), p.server)
		buf := make([]byte, 1024)
		for range 64 {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.Close()
	})
}

// FuzzClient feeds a client whatever a server might send.
func FuzzClient(f *testing.F) {
	_, p := firstFlight(f, false)
	f.Add([]byte{22, 3, 3, 0, 4, 2, 0, 0, 0})
	f.Add([]byte{21, 3, 3, 0, 2, 2, 40})
	f.Add([]byte{20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 17, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Client(script(b), p.client)
		if err := c.Handshake(); err == nil {
			t.Fatal("handshake completed against random bytes")
		}
		c.Close()
	})
}
