package main

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"backend-protocols/internal/timeline"
)

// maxDatagram is the largest UDP payload over IPv4: 65535 minus the IPv4
// and UDP headers.
const maxDatagram = 65535 - 20 - 8

// datagram is one read by the server.
type datagram struct {
	msg  string
	from netip.AddrPort
}

// serve is the course's UDP server: it prints every datagram and who sent
// it, until ctx is done. Each read returns exactly one datagram. If got is
// not nil, every datagram is also sent on it (dropped if it is full).
func serve(ctx context.Context, conn *net.UDPConn, tl *timeline.Timeline,
	got chan<- datagram) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue // an ICMP error from an earlier send; keep serving
		}
		tl.Note("server", "got a datagram %s, from %s", buf[:n], from)
		if got != nil {
			select {
			case got <- datagram{string(buf[:n]), from}:
			default:
			}
		}
	}
}

// send is the client of -connect: one datagram per message.
func send(addr string, msgs []string, tl *timeline.Timeline) error {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, m := range msgs {
		if _, err := conn.Write([]byte(m)); err != nil {
			return err
		}
		tl.Send(conn.LocalAddr().String(), addr, "%s", m)
	}
	return nil
}
