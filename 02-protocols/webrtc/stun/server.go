package stun

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"

	"backend-protocols/internal/demo"
)

// Server answers Binding requests with the requester's reflexive address.
// The zero value is a server without authentication.
type Server struct {
	// Software is sent in the SOFTWARE attribute of every response.
	Software string
	// Password, if set, turns on short-term credentials (section 9.1): it
	// returns the password of a username, or false for an unknown one.
	Password func(username string) (string, bool)
	// Logf, if set, is told about each request and what was done.
	Logf func(format string, args ...any)
}

// Handle processes one message that arrived from from and returns the
// response to send, or nil when the RFC says to stay silent (not STUN, a
// bad fingerprint, a response, an indication, an unknown method).
func (s *Server) Handle(b []byte, from netip.AddrPort) []byte {
	req, err := Decode(b)
	if err != nil {
		s.logf("%v: dropped: %v", from, err)
		return nil
	}
	if _, ok := req.Get(AttrFingerprint); ok && req.CheckFingerprint() != nil {
		s.logf("%v: dropped: bad fingerprint", from)
		return nil
	}
	if req.Type.Method != MethodBinding || req.Type.Class != ClassRequest {
		return nil // indications refresh NAT bindings and need no answer
	}
	resp := &Message{Type: BindingSuccess, TransactionID: req.TransactionID}
	var key []byte
	useSHA256 := false
	if s.Password != nil {
		user, uerr := req.Text(AttrUsername)
		switch {
		case !req.HasIntegrity() || uerr != nil:
			return s.fail(req, CodeBadRequest, "Bad Request", nil, from)
		default:
			pw, ok := s.Password(user)
			if !ok || req.CheckIntegrity(ShortTermKey(pw)) != nil {
				return s.fail(req, CodeUnauthenticated, "Unauthenticated", nil, from)
			}
			key = ShortTermKey(pw)
			_, useSHA256 = req.Get(AttrMessageIntegritySHA256)
		}
	}
	if unknown := req.UnknownRequired(); len(unknown) > 0 {
		return s.fail(req, CodeUnknownAttribute, "Unknown Attribute", unknown, from)
	}
	resp.AddXORMappedAddress(from)
	s.finish(resp, key, useSHA256)
	s.logf("%v: Binding request -> XOR-MAPPED-ADDRESS %v", from, from)
	return resp.Encode()
}

// fail builds an error response. Authentication failures carry no
// integrity, as section 9.1.3 requires.
func (s *Server) fail(req *Message, code int, reason string, unknown []AttrType, from netip.AddrPort) []byte {
	resp := &Message{Type: BindingError, TransactionID: req.TransactionID}
	resp.AddErrorCode(code, reason)
	if len(unknown) > 0 {
		resp.AddUnknownAttributes(unknown)
	}
	s.finish(resp, nil, false)
	s.logf("%v: error %d %s", from, code, reason)
	return resp.Encode()
}

func (s *Server) finish(resp *Message, key []byte, useSHA256 bool) {
	if s.Software != "" {
		resp.AddText(AttrSoftware, s.Software)
	}
	switch {
	case key != nil && useSHA256:
		resp.AddIntegritySHA256(key)
	case key != nil:
		resp.AddIntegrity(key)
	}
	resp.AddFingerprint()
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// ServeUDP answers requests on pc until ctx is done or pc is closed.
func (s *Server) ServeUDP(ctx context.Context, pc *net.UDPConn) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	buf := make([]byte, MaxMessage+1)
	for {
		n, from, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue // a transient error, such as ICMP unreachable
		}
		if n > MaxMessage {
			continue
		}
		if resp := s.Handle(buf[:n], from); resp != nil {
			pc.WriteToUDPAddrPort(resp, from)
		}
	}
}

// tcpIdle closes TCP connections that send nothing for this long.
const tcpIdle = 60 * time.Second

// ServeTCP answers requests on connections accepted from ln until ctx is
// done. Over TCP a message is framed by the length in its own header.
func (s *Server) ServeTCP(ctx context.Context, ln net.Listener) error {
	return demo.ServeConns(ctx, ln, func(c net.Conn) {
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		from := netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		for {
			c.SetReadDeadline(time.Now().Add(tcpIdle))
			msg, err := ReadTCP(c)
			if err != nil {
				return
			}
			if resp := s.Handle(msg, from); resp != nil {
				if _, err := c.Write(resp); err != nil {
					return
				}
			}
		}
	})
}

// ReadTCP reads one message framed by its header's length, refusing
// anything that is not STUN or is longer than MaxMessage.
func ReadTCP(r io.Reader) ([]byte, error) {
	head := make([]byte, HeaderSize, MaxMessage)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(head[2:4]))
	if head[0]&0xC0 != 0 || binary.BigEndian.Uint32(head[4:8]) != MagicCookie ||
		n%4 != 0 || HeaderSize+n > MaxMessage {
		return nil, ErrNotSTUN
	}
	msg := head[:HeaderSize+n]
	if _, err := io.ReadFull(r, msg[HeaderSize:]); err != nil {
		return nil, err
	}
	return msg, nil
}
