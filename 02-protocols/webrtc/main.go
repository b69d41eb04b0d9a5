// WebRTC without the browser's black box: STUN written by hand (./stun),
// ICE written by hand (./ice), a signaling server on the repo's
// WebSocket engine, and a page where two browser peers open a
// DataChannel through them.
//
//	go run ./02-protocols/webrtc
//
// The scenario runs two Go peers, alice and bob. Where it may make
// network namespaces (root, with nft), each sits behind its own NAT
// router and the STUN and signaling servers on a public host between
// them: watch the first datagram alice punches toward bob get dropped
// by bob's NAT, then both directions work; then the peers exchange
// SDP through the signaling server, run ICE connectivity checks on
// every candidate pair, select the pair of both public (server-
// reflexive) addresses, and time pings over it. Elsewhere it runs on
// loopback, and says so. Serve the page for a browser:
//
//	go run ./02-protocols/webrtc -serve 127.0.0.1:8080
//	open http://127.0.0.1:8080/ in two tabs (the first shows the link)
//	open http://127.0.0.1:8080/?pair for two peers in one page
//	turnutils_stunclient 127.0.0.1    (coturn's STUN client, UDP 3478)
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
)

func main() {
	var stunAddr string
	var loopback bool
	var p *demo.Program
	p = demo.New("webrtc",
		"WebRTC: STUN and ICE by hand, a signaling server, NAT hole punching, a DataChannel page.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				res, err := scenario(ctx, tl, loopback)
				if err != nil {
					return err
				}
				return check(res)
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return serve(ctx, addr, stunFor(addr, stunAddr), tl)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return connect(ctx, addr, stunFor(addr, stunAddr), tl)
			},
		})
	p.Flags.StringVar(&stunAddr, "stun", "",
		"the STUN server's UDP (and TCP) `ADDR` (default: the -serve or -connect host, port 3478)")
	p.Flags.BoolVar(&loopback, "loopback", false,
		"run the scenario on loopback even where namespaces work")
	p.Main()
}

// stunFor is the STUN address: the flag's, or port 3478 of addr's host.
func stunFor(addr, flag string) string {
	if flag != "" {
		return flag
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return net.JoinHostPort(host, "3478")
}

// serve runs the STUN server (UDP and TCP) on stunAddr and the page and
// signaling server on addr until ctx is done.
func serve(ctx context.Context, addr, stunAddr string, tl *timeline.Timeline) error {
	s, err := startServing(ctx, nil, addr, stunAddr, tl)
	if err != nil {
		return err
	}
	tl.Note("webrtc", "page at http://%s/ (two tabs), http://%s/?pair (one page, two peers)",
		s.Addr, s.Addr)
	tl.Note("webrtc", "STUN on udp and tcp %s", s.STUN.Addr())
	<-ctx.Done()
	return s.Close()
}

// serving is what -serve runs, started.
type serving struct {
	Addr string      // the page and signaling server's address
	STUN *stunServer // the STUN server, on UDP and TCP
	srv  *server
	stop context.CancelFunc
	errs chan error
}

// startServing starts the servers of -serve in the background, in
// namespace ns (nil: this process's own).
func startServing(ctx context.Context, ns *netns.NS, addr, stunAddr string,
	tl *timeline.Timeline) (*serving, error) {
	listen := demo.Listen
	if ns != nil {
		listen = func(a string) (net.Listener, error) { return ns.Listen("tcp", a) }
	}
	pc, tcp, err := listenSTUN(ns, stunAddr, listen)
	if err != nil {
		return nil, err
	}
	ln, err := listen(addr)
	if err != nil {
		pc.Close()
		tcp.Close()
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx)
	st := newSTUNServer(pc, tl)
	s := &serving{Addr: ln.Addr().String(), STUN: st, srv: newServer(tl, st),
		stop: stop, errs: make(chan error, 3)}
	go func() { st.serve(ctx); s.errs <- nil }()
	go func() { s.errs <- st.srv.ServeTCP(ctx, tcp) }()
	go func() {
		err := demo.ServeHTTP(ctx, &http.Server{Handler: s.srv.mux}, ln)
		s.srv.sig.closeAll()
		s.errs <- err
	}()
	return s, nil
}

// listenSTUN opens the STUN server's UDP socket and a TCP listener on
// the same port. Port 0 picks a free UDP port; if that number is taken
// for TCP, it tries another, a few times.
func listenSTUN(ns *netns.NS, addr string,
	listen func(string) (net.Listener, error)) (*net.UDPConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	for try := 0; ; try++ {
		pc, err := listenPacket(ns, addr)
		if err != nil {
			return nil, nil, fmt.Errorf("STUN on udp %s: %w", addr, err)
		}
		tcp, err := listen(pc.LocalAddr().String())
		if err == nil {
			return pc, tcp, nil
		}
		pc.Close()
		if port != "0" || try == 8 {
			return nil, nil, fmt.Errorf("STUN on tcp %s: %w", addr, err)
		}
	}
}

// Close stops the servers and returns what went wrong.
func (s *serving) Close() error {
	s.stop()
	return errors.Join(<-s.errs, <-s.errs, <-s.errs)
}

// connect runs two Go peers on loopback against a server started with
// -serve elsewhere.
func connect(ctx context.Context, addr, stunAddr string, tl *timeline.Timeline) error {
	sa, err := netip.ParseAddrPort(stunAddr)
	if err != nil {
		host, port, _ := net.SplitHostPort(stunAddr)
		ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
		n, perr := strconv.Atoi(port)
		if lerr != nil || perr != nil || len(ips) == 0 {
			return fmt.Errorf("STUN address %q: %v", stunAddr, err)
		}
		sa = netip.AddrPortFrom(ips[0], uint16(n))
	}
	res := &result{Mode: "loopback", Refused: map[string]string{}}
	sides := [2]side{{"alice", nil, "127.0.0.1:0"}, {"bob", nil, "127.0.0.1:0"}}
	if _, err := meet(ctx, tl, addr, sa, sides, nil, res); err != nil {
		return err
	}
	if res.Echoed != pings {
		return fmt.Errorf("%d of %d pings came back", res.Echoed, pings)
	}
	return nil
}
