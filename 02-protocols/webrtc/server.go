package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"backend-protocols/02-protocols/webrtc/stun"
	"backend-protocols/internal/timeline"
)

//go:embed page.html
var page []byte

// server is what -serve runs: the page, the signaling server and a
// STUN server, which tells the page where to find it.
type server struct {
	sig  *signaler
	stun *stunServer
	tl   *timeline.Timeline
	// onReport, if set, gets each report a page posts; it may be set
	// while the server runs.
	onReport atomic.Pointer[func(browserReport)]
	mux      *http.ServeMux
}

func newServer(tl *timeline.Timeline, st *stunServer) *server {
	s := &server{sig: newSignaler(tl), stun: st, tl: tl, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	s.mux.HandleFunc("GET /config", s.config)
	s.mux.HandleFunc("POST /rooms", s.sig.handleRooms)
	s.mux.HandleFunc("GET /signal", s.sig.handleSignal)
	s.mux.HandleFunc("POST /report", s.report)
	return s
}

// config tells the page which STUN server to put in iceServers. A STUN
// server on a wildcard address is named by the host the page came from.
func (s *server) config(w http.ResponseWriter, r *http.Request) {
	addr := s.stun.Addr()
	host := addr.Addr().String()
	if addr.Addr().IsUnspecified() {
		h, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			h = r.Host
		}
		host = strings.Trim(h, "[]")
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"stun": "stun:" + net.JoinHostPort(host, fmt.Sprint(addr.Port()))})
}

// browserReport is what the page posts once its DataChannel has carried
// its pings (or when it failed).
type browserReport struct {
	Mode  string        `json:"mode"`
	OK    bool          `json:"ok"`
	Error string        `json:"error"`
	Peers []browserPeer `json:"peers"`
}

type browserPeer struct {
	Name     string    `json:"name"`
	ID       string    `json:"id"`
	Opened   float64   `json:"opened"` // ms from page start to DataChannel open
	Sent     int       `json:"sent"`
	Received int       `json:"received"`
	RTT      []float64 `json:"rtt"` // ms, measured in the browser
	Local    []string  `json:"local"`
	Remote   []string  `json:"remote"`
	Selected *struct {
		Local, Remote struct {
			Type    string `json:"type"`
			Address string `json:"address"`
			Port    int    `json:"port"`
		}
		RTTMs float64 `json:"rttMs"`
	} `json:"selected"`
	SDPLocal  string `json:"sdpLocal"`
	SDPRemote string `json:"sdpRemote"`
}

// maxReport bounds a report's body.
const maxReport = 256 << 10

func (s *server) report(w http.ResponseWriter, r *http.Request) {
	var rep browserReport
	body := http.MaxBytesReader(w, r.Body, maxReport)
	if err := json.NewDecoder(body).Decode(&rep); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	if !rep.OK {
		s.tl.Note("browser", "failed: %s", rep.Error)
	}
	for _, p := range rep.Peers {
		sel := "no selected pair"
		if p.Selected != nil {
			l, r := p.Selected.Local, p.Selected.Remote
			sel = fmt.Sprintf("%s %s <-> %s %s",
				l.Type, net.JoinHostPort(l.Address, fmt.Sprint(l.Port)),
				r.Type, net.JoinHostPort(r.Address, fmt.Sprint(r.Port)))
		}
		s.tl.Note("browser", "peer %s: DataChannel open after %.0f ms; %s; %d candidates gathered",
			p.Name, p.Opened, sel, len(p.Local))
		if len(p.RTT) > 0 {
			s.tl.Note("browser", "peer %s: %d DataChannel round trips, median %.2f ms",
				p.Name, len(p.RTT), median(p.RTT))
		}
	}
	if f := s.onReport.Load(); f != nil {
		(*f)(rep)
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s { // a tiny insertion sort: reports hold 20 samples
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

// stunServer runs the stun engine's Server on a UDP socket and keeps
// the reflexive addresses it handed out, so a test can tell that a
// browser's server-reflexive candidate came from it.
type stunServer struct {
	srv  *stun.Server
	conn *net.UDPConn

	mu     sync.Mutex
	mapped map[netip.AddrPort]int // address -> Binding successes
}

func newSTUNServer(conn *net.UDPConn, tl *timeline.Timeline) *stunServer {
	st := &stunServer{conn: conn, mapped: map[netip.AddrPort]int{}}
	st.srv = &stun.Server{Software: "backend-protocols webrtc",
		Logf: func(format string, args ...any) { tl.Note("stun", format, args...) }}
	return st
}

// Addr is the server's UDP address.
func (st *stunServer) Addr() netip.AddrPort {
	return st.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Gave reports how many times the server answered with this reflexive
// address.
func (st *stunServer) Gave(a netip.AddrPort) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.mapped[a]
}

// serve answers on the socket until ctx is done: the loop of
// stun.Server.ServeUDP, plus a note of each success.
func (st *stunServer) serve(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { st.conn.Close() })
	defer stop()
	buf := make([]byte, stun.MaxMessage+1)
	for {
		n, from, err := st.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
			return
		}
		if err != nil || n > stun.MaxMessage {
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		resp := st.srv.Handle(buf[:n], from)
		if resp == nil {
			continue
		}
		if m, err := stun.Decode(resp); err == nil && m.Type == stun.BindingSuccess {
			st.mu.Lock()
			st.mapped[from]++
			st.mu.Unlock()
		}
		st.conn.WriteToUDPAddrPort(resp, from)
	}
}
