package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/02-protocols/websockets/ws"
	"backend-protocols/internal/timeline"
)

// signaler is the signaling server: peers join a room over a WebSocket
// (the repo's ws engine) and it relays their offers, answers and ICE
// candidates, as JSON, to the others in the room. It never reads what
// it relays: SDP and candidates are the peers' business. Everything is
// bounded: rooms, peers per room, message size (1009 beyond), each
// peer's send queue, errors per peer, and how long an empty room lives.
type signaler struct {
	MaxRooms   int           // rooms at once; 503 beyond
	MaxPeers   int           // peers in a room; 409 beyond
	MaxMessage int64         // bytes per message; close 1009 beyond
	MaxQueue   int           // messages waiting for a slow peer; close 1008 beyond
	MaxErrors  int           // refused messages before close 1008
	RoomTTL    time.Duration // an empty room is forgotten after this
	Idle       time.Duration // a peer silent this long is closed (1001)

	tl *timeline.Timeline
	// relayed counts the messages relayed, recipient by recipient.
	relayed atomic.Int64

	mu    sync.Mutex
	rooms map[string]*room
	conns sync.WaitGroup
}

// room is a set of peers that see each other's messages.
type room struct {
	name    string
	peers   map[string]*member
	joined  int       // peers ever joined, for ids
	touched time.Time // when the last peer left, or the room was made
}

// member is one peer's WebSocket, with a queue its writer drains.
type member struct {
	id   string
	room *room
	conn *ws.Conn
	out  chan []byte
	quit chan struct{} // closed when the member is dropped
	once sync.Once
	why  error // why it was dropped; set before quit closes
}

// drop ends the member's session, for the first reason given.
func (m *member) drop(why error) {
	m.once.Do(func() {
		m.why = why
		close(m.quit)
	})
}

// signal is one JSON message. Peers send offer, answer and candidate
// (with to, or to everyone else, and data); the server adds from, and
// sends welcome (id, peers), join, leave and error of its own.
type signal struct {
	Type  string          `json:"type"`
	From  string          `json:"from,omitempty"`
	To    string          `json:"to,omitempty"`
	ID    string          `json:"id,omitempty"`
	Peers []string        `json:"peers,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error string          `json:"error,omitempty"`
}

func newSignaler(tl *timeline.Timeline) *signaler {
	return &signaler{MaxRooms: 64, MaxPeers: 2, MaxMessage: 16 << 10,
		MaxQueue: 64, MaxErrors: 8, RoomTTL: 10 * time.Minute,
		Idle: 10 * time.Minute, tl: tl, rooms: map[string]*room{}}
}

// Errors of room management, with the HTTP status each is answered with.
var (
	errTooManyRooms = errors.New("too many rooms")
	errNoRoom       = errors.New("no such room")
	errRoomFull     = errors.New("room is full")
)

// create makes a room with a random name.
func (s *signaler) create() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(time.Now())
	if len(s.rooms) >= s.MaxRooms {
		return "", errTooManyRooms
	}
	var b [8]byte
	rand.Read(b[:])
	name := hex.EncodeToString(b[:])
	s.rooms[name] = &room{name: name, peers: map[string]*member{}, touched: time.Now()}
	return name, nil
}

// expireLocked forgets rooms that have been empty for RoomTTL.
func (s *signaler) expireLocked(now time.Time) {
	for name, r := range s.rooms {
		if len(r.peers) == 0 && now.Sub(r.touched) > s.RoomTTL {
			delete(s.rooms, name)
		}
	}
}

// peers returns how many peers are in a room, and whether it exists.
func (s *signaler) peers(name string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[name]
	if !ok {
		return 0, false
	}
	return len(r.peers), true
}

// handleRooms answers POST /rooms with a new room's name.
func (s *signaler) handleRooms(w http.ResponseWriter, r *http.Request) {
	name, err := s.create()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	s.tl.Note("signal", "room %s created", name)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]string{"room": name})
}

// handleSignal upgrades GET /signal?room=NAME to a WebSocket in that
// room. An unknown room is refused with 404 and a full one with 409,
// before the upgrade, so a browser or a client sees a plain HTTP error.
func (s *signaler) handleSignal(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("room")
	s.mu.Lock()
	rm, ok := s.rooms[name]
	switch {
	case !ok:
		s.mu.Unlock()
		http.Error(w, errNoRoom.Error(), http.StatusNotFound)
		return
	case len(rm.peers) >= s.MaxPeers:
		s.mu.Unlock()
		http.Error(w, errRoomFull.Error(), http.StatusConflict)
		return
	}
	s.mu.Unlock()
	conn, err := ws.Accept(w, r, &ws.AcceptOptions{
		Options: ws.Options{MaxMessageSize: s.MaxMessage, WriteTimeout: 5 * time.Second}})
	if err != nil {
		return
	}
	m, others, err := s.join(name, conn)
	if err != nil {
		conn.Close(ws.CloseTryAgainLater, err.Error())
		return
	}
	s.conns.Go(func() { s.serve(name, m, others) })
}

// join adds a member to a room, rechecking the bounds now that the
// lock is held again, and tells the others.
func (s *signaler) join(name string, conn *ws.Conn) (*member, []string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm, ok := s.rooms[name]
	if !ok {
		return nil, nil, errNoRoom
	}
	if len(rm.peers) >= s.MaxPeers {
		return nil, nil, errRoomFull
	}
	rm.joined++
	m := &member{id: fmt.Sprintf("p%d", rm.joined), room: rm, conn: conn,
		out: make(chan []byte, s.MaxQueue), quit: make(chan struct{})}
	var others []string
	for id, o := range rm.peers {
		others = append(others, id)
		s.sendLocked(o, signal{Type: "join", From: m.id})
	}
	slices.Sort(others)
	rm.peers[m.id] = m
	s.sendLocked(m, signal{Type: "welcome", ID: m.id, Peers: others})
	return m, others, nil
}

// sendLocked queues a message for m; a peer too slow to take it is
// dropped and leaves the room at once, so one stuck browser can hold
// neither the server's memory nor the others' messages.
func (s *signaler) sendLocked(m *member, sg signal) {
	b, _ := json.Marshal(sg)
	select {
	case m.out <- b:
	default:
		m.drop(errSlow)
		s.removeLocked(m)
	}
}

// removeLocked forgets a member and tells the others it left. It does
// nothing for a member already gone.
func (s *signaler) removeLocked(m *member) {
	rm := m.room
	if rm.peers[m.id] != m {
		return
	}
	delete(rm.peers, m.id)
	rm.touched = time.Now()
	others := make([]*member, 0, len(rm.peers))
	for _, o := range rm.peers {
		others = append(others, o)
	}
	for _, o := range others {
		s.sendLocked(o, signal{Type: "leave", From: m.id})
	}
}

// serve runs one member: a writer drains its queue, the reader relays
// what it sends, and whichever ends first ends the session.
func (s *signaler) serve(name string, m *member, others []string) {
	s.tl.Note("signal", "%s joined room %s (%d already there)", m.id, name, len(others))
	var wg sync.WaitGroup
	wg.Go(func() { s.write(m) })
	wg.Go(func() { <-m.quit; hangUp(m) })
	m.drop(s.read(name, m))
	wg.Wait()
	m.conn.NetConn().Close()
	s.mu.Lock()
	s.removeLocked(m)
	s.mu.Unlock()
	s.tl.Note("signal", "%s left room %s: %v", m.id, name, m.why)
}

// Why a member was dropped, besides its connection's own end.
var (
	errSlow          = errors.New("too slow: send queue full")
	errBinary        = errors.New("sent a binary message")
	errTooManyErrors = errors.New("too many bad messages")
	errIdle          = errors.New("idle")
	errShutdown      = errors.New("server shutting down")
)

// hangUp closes a dropped member's WebSocket with the code that says
// why. A connection that ended by itself (the peer's close, or the
// engine's 1009 or 1002) is already closed.
func hangUp(m *member) {
	var code ws.CloseCode
	switch {
	case errors.Is(m.why, errSlow), errors.Is(m.why, errTooManyErrors):
		code = ws.ClosePolicyViolation
	case errors.Is(m.why, errBinary):
		code = ws.CloseUnsupportedData
	case errors.Is(m.why, errIdle), errors.Is(m.why, errShutdown):
		code = ws.CloseGoingAway
	default:
		m.conn.NetConn().Close()
		return
	}
	// Close waits, bounded, for the peer's answer, which the reader
	// (if it is still reading) receives and returns.
	m.conn.Close(code, m.why.Error())
}

// write sends m's queued messages until it is dropped.
func (s *signaler) write(m *member) {
	for {
		select {
		case b := <-m.out:
			if err := m.conn.WriteMessage(ws.OpText, b); err != nil {
				m.drop(err)
				return
			}
		case <-m.quit:
			return
		}
	}
}

// read relays m's messages and returns why it stopped: the connection's
// end, or a rule the peer broke.
func (s *signaler) read(name string, m *member) error {
	idle := time.AfterFunc(s.Idle, func() { m.drop(errIdle) })
	defer idle.Stop()
	errs := 0
	for {
		typ, b, err := m.conn.ReadMessage()
		if err != nil {
			return err
		}
		idle.Reset(s.Idle)
		if typ != ws.OpText {
			return errBinary
		}
		if err := s.relay(name, m, b); err != nil {
			errs++
			s.mu.Lock()
			s.sendLocked(m, signal{Type: "error", Error: err.Error()})
			s.mu.Unlock()
			if errs >= s.MaxErrors {
				return errTooManyErrors
			}
		}
	}
}

// relay checks one message and queues it for its recipients.
func (s *signaler) relay(name string, m *member, b []byte) error {
	var sg signal
	if err := json.Unmarshal(b, &sg); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	switch sg.Type {
	case "offer", "answer", "candidate":
	default:
		return fmt.Errorf("unknown type %q (want offer, answer or candidate)", sg.Type)
	}
	if len(sg.Data) == 0 {
		return fmt.Errorf("%s without data", sg.Type)
	}
	out := signal{Type: sg.Type, From: m.id, Data: sg.Data}
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.rooms[name]
	var to []*member
	for id, o := range rm.peers {
		if id != m.id && (sg.To == "" || sg.To == id) {
			to = append(to, o)
		}
	}
	if len(to) == 0 && sg.To != "" {
		return fmt.Errorf("no peer %q in the room", sg.To)
	}
	// To everyone else, with nobody else there: nothing to do (a
	// candidate trickled after the other peer left).
	for _, o := range to {
		out.To = o.id
		s.sendLocked(o, out)
		s.relayed.Add(1)
		s.tl.Note("signal", "%s -> %s %s (%d bytes)", m.id, o.id, sg.Type, len(sg.Data))
	}
	return nil
}

// closeAll drops every member (a server shutting down) and waits for
// their goroutines.
func (s *signaler) closeAll() {
	s.mu.Lock()
	for _, rm := range s.rooms {
		for _, m := range rm.peers {
			m.drop(errShutdown)
		}
	}
	s.mu.Unlock()
	s.conns.Wait()
}
