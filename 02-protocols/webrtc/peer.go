package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"backend-protocols/02-protocols/webrtc/ice"
	"backend-protocols/02-protocols/websockets/ws"
	"backend-protocols/internal/timeline"
)

// goPeer is a WebRTC-shaped peer written in Go: an ICE agent on one UDP
// socket, and a WebSocket to the signaling server that carries its
// description (SDP in the shape of RFC 8866, with ice-ufrag, ice-pwd
// and host candidates as RFC 8839 writes them) and its trickled
// server-reflexive candidate, as JSON like a browser's. What it does not
// have is DTLS and SCTP: its data are plain datagrams on the pair ICE
// selected.
type goPeer struct {
	name  string
	tl    *timeline.Timeline
	agent *ice.Agent
	names map[netip.AddrPort]string // addresses, as the narrative names them

	conn  *ws.Conn
	id    string
	other string
	g     ice.Gathered

	mu      sync.Mutex
	offer   string // the SDP sent or received as the offer
	signals int    // messages sent through the signaling server
	errs    []error
	remote  chan struct{} // closed once the remote description is set
	once    sync.Once
	left    sync.Once
}

// newGoPeer makes a peer on conn, controlling if it will offer.
func newGoPeer(name string, conn *net.UDPConn, stunAddr netip.AddrPort,
	controlling bool, tl *timeline.Timeline, names map[netip.AddrPort]string) (*goPeer, error) {
	p := &goPeer{name: name, tl: tl, names: names, remote: make(chan struct{})}
	a, err := ice.NewAgent(conn, ice.Config{Controlling: controlling, STUN: stunAddr,
		Trace: p.trace})
	if err != nil {
		return nil, err
	}
	p.agent = a
	return p, nil
}

// who names an address for the narrative.
func (p *goPeer) who(a netip.AddrPort) string {
	if n, ok := p.names[a]; ok {
		return n
	}
	return a.String()
}

// trace prints the agent's steps.
func (p *goPeer) trace(e ice.Event) {
	switch e.Kind {
	case ice.EventCheck:
		if e.Attempt > 1 {
			p.tl.Send(p.name, p.who(e.To), "check resent (attempt %d) to %s", e.Attempt, e.To)
			return
		}
		p.tl.Send(p.name, p.who(e.To), "Binding request to %s: %s", e.To, e.Text[len("check "):])
	case ice.EventResponse:
		p.tl.Send(p.who(e.From), p.name, "%s", e.Text)
	case ice.EventRequest, ice.EventPeerReflexive, ice.EventRoleSwitch,
		ice.EventRedundant, ice.EventCandidate, ice.EventSelected:
		p.tl.Note(p.name, "%s", e.Text)
	case ice.EventPairState:
		if e.Pair.State != ice.Waiting && e.Pair.State != ice.InProgress {
			p.tl.Note(p.name, "%s", e.Text)
		}
	}
}

// gather learns the peer's candidates.
func (p *goPeer) gather(ctx context.Context) error {
	g, err := p.agent.Gather(ctx)
	p.g = g
	if err != nil {
		return fmt.Errorf("%s: STUN: %w", p.name, err)
	}
	p.tl.Note(p.name, "STUN: the server saw me as %s (%d request, RTT %s)",
		g.STUN.Mapped, g.STUN.Attempts, timeline.Ms(g.STUN.RTT))
	return nil
}

// join opens the signaling WebSocket and waits for the welcome.
func (p *goPeer) join(ctx context.Context, url string,
	dial func(context.Context, string, string) (net.Conn, error)) error {
	c, _, err := ws.Dial(ctx, url, &ws.DialOptions{NetDial: dial})
	if err != nil {
		return fmt.Errorf("%s: join: %w", p.name, err)
	}
	p.conn = c
	sg, err := p.recv()
	if err != nil || sg.Type != "welcome" {
		return fmt.Errorf("%s: want welcome, got %+v, %v", p.name, sg, err)
	}
	p.id = sg.ID
	p.tl.Note(p.name, "joined as %s; already in the room: %v", sg.ID, sg.Peers)
	return nil
}

func (p *goPeer) recv() (signal, error) {
	var sg signal
	_, b, err := p.conn.ReadMessage()
	if err != nil {
		return sg, err
	}
	return sg, json.Unmarshal(b, &sg)
}

func (p *goPeer) send(typ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	msg, _ := json.Marshal(signal{Type: typ, To: p.other, Data: b})
	p.mu.Lock()
	p.signals++
	p.mu.Unlock()
	p.tl.Send(p.name, "signal", "%s to %s (%d bytes of JSON)", typ, p.other, len(msg))
	return p.conn.WriteMessage(ws.OpText, msg)
}

// description is the SDP the peer offers or answers: its credentials
// and its host candidate; the server-reflexive one is trickled after.
func (p *goPeer) description() string {
	host := p.g.Candidates[0]
	var id [8]byte
	rand.Read(id[:])
	s := &ice.Session{
		Origin: ice.Origin{Username: "-",
			SessionID:      fmt.Sprint(binary.BigEndian.Uint64(id[:]) >> 2),
			SessionVersion: "1", NetType: "IN", AddrType: "IP4",
			Address: host.Addr.Addr().String()},
		Name:       "-",
		Lines:      []ice.Line{{Type: 't', Value: "0 0"}},
		Attributes: []ice.Attribute{{Name: "ice-options", Value: "trickle ice2"}},
	}
	// Plain datagrams over UDP: proto "udp", format application/octet-stream.
	m := &ice.Media{Type: "application", Port: int(host.Addr.Port()), Proto: "udp",
		Formats:    []string{"octet-stream"},
		Lines:      []ice.Line{{Type: 'c', Value: "IN IP4 " + host.Addr.Addr().String()}},
		Attributes: []ice.Attribute{{Name: "mid", Value: "0"}}}
	ufrag, pwd := p.agent.Local()
	m.SetICE(ice.Params{Ufrag: ufrag, Pwd: pwd, Candidates: p.g.Candidates[:1]})
	s.Media = []*ice.Media{m}
	return string(s.Marshal())
}

// sdpJSON and candidateJSON have the shapes of a browser's
// RTCSessionDescriptionInit and RTCIceCandidateInit.
type sdpJSON struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

type candidateJSON struct {
	Candidate     string `json:"candidate"`
	SDPMid        string `json:"sdpMid"`
	SDPMLineIndex int    `json:"sdpMLineIndex"`
}

// trickle sends the candidates the description did not carry.
func (p *goPeer) trickle() error {
	for _, c := range p.g.Candidates[1:] {
		if err := p.send("candidate", candidateJSON{c.String(), "0", 0}); err != nil {
			return err
		}
	}
	return nil
}

// run handles signaling messages until the WebSocket closes: the first
// peer offers when the second joins, the second answers, and both add
// the candidates that trickle in. Errors in what the other peer sent
// are kept for the scenario to report.
func (p *goPeer) run() {
	for {
		sg, err := p.recv()
		if err != nil {
			return
		}
		if err := p.handle(sg); err != nil {
			p.mu.Lock()
			p.errs = append(p.errs, err)
			p.mu.Unlock()
			p.tl.Note(p.name, "%v", err)
		}
	}
}

func (p *goPeer) handle(sg signal) error {
	switch sg.Type {
	case "join":
		p.tl.Send("signal", p.name, "%s joined", sg.From)
		p.other = sg.From
		offer := p.description()
		p.mu.Lock()
		p.offer = offer
		p.mu.Unlock()
		if err := p.send("offer", sdpJSON{"offer", offer}); err != nil {
			return err
		}
		return p.trickle()
	case "offer", "answer":
		p.tl.Send("signal", p.name, "%s from %s", sg.Type, sg.From)
		var d sdpJSON
		if err := json.Unmarshal(sg.Data, &d); err != nil {
			return err
		}
		sess, err := ice.Parse([]byte(d.SDP))
		if err != nil {
			return err
		}
		params, err := sess.ICE(0)
		if err != nil {
			return err
		}
		if err := p.agent.SetRemote(params); err != nil {
			p.tl.Note(p.name, "%v", err)
		}
		p.once.Do(func() { close(p.remote) })
		if sg.Type == "answer" {
			return nil
		}
		p.other = sg.From
		p.mu.Lock()
		p.offer = d.SDP
		p.mu.Unlock()
		if err := p.send("answer", sdpJSON{"answer", p.description()}); err != nil {
			return err
		}
		return p.trickle()
	case "candidate":
		var c candidateJSON
		if err := json.Unmarshal(sg.Data, &c); err != nil {
			return err
		}
		cand, err := ice.ParseCandidate(c.Candidate)
		if err != nil {
			return err
		}
		p.tl.Send("signal", p.name, "candidate from %s: %s", sg.From, cand.Short())
		if err := p.agent.AddRemoteCandidate(cand); err != nil {
			p.tl.Note(p.name, "%v", err)
		}
	case "leave":
		p.tl.Send("signal", p.name, "%s left", sg.From)
	case "error":
		return errors.New("signaling server: " + sg.Error)
	}
	return nil
}

// leave closes the signaling WebSocket.
func (p *goPeer) leave() {
	p.left.Do(func() {
		if p.conn != nil {
			p.conn.Close(ws.CloseNormal, "bye")
		}
	})
}

// errors returns what went wrong in signaling, joined.
func (p *goPeer) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

// firstLines is the top of a description, for the narrative.
func firstLines(sdp string, n int) string {
	lines := strings.SplitAfter(sdp, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "")
}
