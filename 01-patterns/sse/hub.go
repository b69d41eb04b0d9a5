package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/01-patterns/sse/eventsource"
	"backend-protocols/internal/timeline"
)

// config sets the pace and the bounds of the event server.
type config struct {
	Tick        time.Duration // one event per client every Tick
	KeepAlive   time.Duration // a comment on an idle stream every KeepAlive
	Retry       time.Duration // the reconnection time sent to clients
	Buffer      int           // events a session keeps for replay
	Grace       time.Duration // how long a session outlives its connection
	MaxSessions int
	WriteLimit  time.Duration // a write that blocks longer drops the client
}

// event is one event of a session's sequence.
type event struct {
	n         int
	typ, data string
}

// eventFor makes event n: the course's message, and every fifth event a
// "milestone" whose data spans two lines.
func eventFor(n int) event {
	if n%5 == 4 {
		return event{n, "milestone",
			fmt.Sprintf("%d events so far\nnext is [%d]", n+1, n+1)}
	}
	return event{n, "message", fmt.Sprintf("hello from server ---- [%d]", n)}
}

// session is one client's own event sequence. It keeps counting while its
// client is away, for Grace, so a client that reconnects with
// Last-Event-ID gets what it missed from the buffer.
type session struct {
	id  string
	hub *hub

	mu     sync.Mutex
	next   int           // number of the next event
	ring   []event       // the last Buffer events, oldest first
	owner  chan struct{} // closed to evict the stream holding the session
	tick   *time.Timer
	expire *time.Timer // runs while no stream holds the session
	wake   chan struct{}
}

// hub holds the sessions.
type hub struct {
	cfg config
	tl  *timeline.Timeline

	mu       sync.Mutex
	sessions map[string]*session

	streams atomic.Int64 // streams open now
	resumes atomic.Int64 // requests that resumed a session by Last-Event-ID
}

func newHub(cfg config, tl *timeline.Timeline) *hub {
	return &hub{cfg: cfg, tl: tl, sessions: map[string]*session{}}
}

var errFull = errors.New("too many sessions")

// attach finds the session a Last-Event-ID names, or starts a new one, and
// makes the caller its owner. It returns the number of the first event to
// send.
func (h *hub) attach(lastID string) (s *session, from int, owner chan struct{}, err error) {
	// A Last-Event-ID that names no live session (expired, or from before
	// a restart) starts a new session: the client sees new ids.
	h.mu.Lock()
	defer h.mu.Unlock()
	sid, n, ok := parseID(lastID)
	if ok {
		s = h.sessions[sid]
	}
	if s != nil {
		from = n + 1
		h.resumes.Add(1)
	} else {
		if len(h.sessions) >= h.cfg.MaxSessions {
			return nil, 0, nil, errFull
		}
		s = h.newSessionLocked()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner != nil {
		close(s.owner) // a stale stream still holds it: the new one wins
	}
	if s.expire != nil {
		s.expire.Stop()
		s.expire = nil
	}
	owner = make(chan struct{})
	s.owner = owner
	return s, from, owner, nil
}

func (h *hub) newSessionLocked() *session {
	b := make([]byte, 4)
	rand.Read(b)
	s := &session{id: hex.EncodeToString(b), hub: h, wake: make(chan struct{}, 1)}
	s.tick = time.AfterFunc(h.cfg.Tick, s.addEvent)
	h.sessions[s.id] = s
	return s
}

// detach releases the session if owner still holds it and starts the
// grace period after which it is forgotten.
func (h *hub) detach(s *session, owner chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner != owner {
		return // evicted by a newer stream, which owns it now
	}
	s.owner = nil
	s.expire = time.AfterFunc(h.cfg.Grace, func() { h.forget(s) })
}

// forget drops a session nobody came back for, and stops its timer.
func (h *hub) forget(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner != nil || s.expire == nil {
		return // reattached meanwhile
	}
	s.tick.Stop()
	s.expire = nil
	delete(h.sessions, s.id)
	h.tl.Note("server", "session %s expired after %v without a client", s.id, h.cfg.Grace)
}

// close stops every session's timers.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, s := range h.sessions {
		s.mu.Lock()
		s.tick.Stop()
		if s.expire != nil {
			s.expire.Stop()
		}
		s.mu.Unlock()
		delete(h.sessions, id)
	}
}

// eventsMade reports how many events a live session has made so far.
func (h *hub) eventsMade(sid string) (int, bool) {
	h.mu.Lock()
	s := h.sessions[sid]
	h.mu.Unlock()
	if s == nil {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next, true
}

// sessionCount reports how many sessions are alive.
func (h *hub) sessionCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

func (s *session) addEvent() {
	s.mu.Lock()
	s.ring = append(s.ring, eventFor(s.next))
	if len(s.ring) > s.hub.cfg.Buffer {
		s.ring = s.ring[len(s.ring)-s.hub.cfg.Buffer:]
	}
	s.next++
	s.tick.Reset(s.hub.cfg.Tick)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// since returns the buffered events numbered from on, and how many before
// them are no longer in the buffer.
func (s *session) since(from int) (evs []event, lost int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ring) == 0 {
		return nil, 0
	}
	if first := s.ring[0].n; from < first {
		lost, from = first-from, first
	}
	if i := from - s.ring[0].n; i < len(s.ring) {
		evs = append(evs, s.ring[i:]...)
	}
	return evs, lost
}

// eventID names event n of session sid; parseID reads it back.
func eventID(sid string, n int) string { return sid + "." + strconv.Itoa(n) }

func parseID(id string) (sid string, n int, ok bool) {
	sid, num, ok := strings.Cut(id, ".")
	if !ok || sid == "" {
		return "", 0, false
	}
	n, err := strconv.Atoi(num)
	return sid, n, err == nil && n >= 0
}

// stream serves GET /stream: the session's events as text/event-stream,
// from where Last-Event-ID says the client left off. ?drop=K makes the
// server end the stream after K events, so a reader can watch the client
// reconnect and resume.
func (h *hub) stream(w http.ResponseWriter, r *http.Request) {
	drop := 0
	if v := r.URL.Query().Get("drop"); v != "" {
		var err error
		if drop, err = strconv.Atoi(v); err != nil || drop < 1 {
			http.Error(w, "drop must be a positive number of events", http.StatusBadRequest)
			return
		}
	}
	lastID := r.Header.Get("Last-Event-ID")
	s, from, owner, err := h.attach(lastID)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer h.detach(s, owner)
	h.streams.Add(1)
	defer h.streams.Add(-1)
	switch {
	case from > 0:
		h.tl.Note("server", "%s resumes session %s after Last-Event-ID %s (%s)",
			r.RemoteAddr, s.id, lastID, r.Proto)
	case lastID != "":
		h.tl.Note("server", "%s sent Last-Event-ID %s of no live session: new session %s (%s)",
			r.RemoteAddr, lastID, s.id, r.Proto)
	default:
		h.tl.Note("server", "%s starts session %s (%s)", r.RemoteAddr, s.id, r.Proto)
	}

	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // tell proxies such as nginx not to buffer
	w.WriteHeader(http.StatusOK)
	enc := eventsource.NewEncoder(w)
	flush := func() bool {
		rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteLimit))
		return rc.Flush() == nil
	}
	enc.Retry(h.cfg.Retry)
	enc.Comment(fmt.Sprintf("session %s, from event %d", s.id, from))
	if !flush() {
		return
	}
	keep := time.NewTicker(h.cfg.KeepAlive)
	defer keep.Stop()
	sent := 0
	for {
		evs, lost := s.since(from)
		if lost > 0 {
			enc.Comment(fmt.Sprintf("%d events lost: the buffer holds %d", lost, h.cfg.Buffer))
		}
		for _, e := range evs {
			rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteLimit))
			if enc.Event(eventID(s.id, e.n), e.typ, e.data) != nil {
				return
			}
			from = e.n + 1
			if sent++; drop > 0 && sent >= drop {
				flush()
				return
			}
		}
		if (len(evs) > 0 || lost > 0) && !flush() {
			return
		}
		select {
		case <-s.wake:
		case <-keep.C:
			enc.Comment("keep-alive")
			if !flush() {
				return
			}
		case <-owner:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// stats serves GET /stats: streams open and sessions alive.
func (h *hub) stats(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"streams\":%d,\"sessions\":%d}\n", h.streams.Load(), h.sessionCount())
}
