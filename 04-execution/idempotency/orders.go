package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits that keep a long -serve run's memory bounded.
const (
	maxOrders = 100000
	maxKeys   = 100000
	maxBody   = 4 << 10
)

// order is what a client buys.
type order struct {
	ID   int    `json:"id"`
	Item string `json:"item"`
	Qty  int    `json:"qty"`
}

// keyEntry is what the server remembers about one Idempotency-Key.
type keyEntry struct {
	fingerprint [32]byte // of method, path and body (draft section 2.4)
	done        bool     // false while the first request is being processed
	status      int
	body        []byte
	expires     time.Time
}

// store is the order service's state: orders and remembered keys.
type store struct {
	mu      sync.Mutex
	now     func() time.Time
	ttl     time.Duration // how long a key is remembered
	work    time.Duration // how long committing an order takes
	nextID  int
	orders  map[int]order
	keys    map[string]*keyEntry
	loseOne bool // drop the connection after the next commit, before answering
	// started, if set, hears each key whose first request begins work.
	started chan<- string
	// Attempts counts POST /orders requests that reached the handler.
	Attempts int
}

func newStore(ttl, work time.Duration) *store {
	return &store{now: time.Now, ttl: ttl, work: work, nextID: 1,
		orders: map[int]order{}, keys: map[string]*keyEntry{}}
}

// LoseNextResponse makes the server commit the next order and then drop
// the connection instead of answering, as a crash, a timeout or a broken
// network between the commit and the client would.
func (s *store) LoseNextResponse() {
	s.mu.Lock()
	s.loseOne = true
	s.mu.Unlock()
}

// Count returns how many orders exist.
func (s *store) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.orders)
}

// State summarizes every order, to compare the state after one request
// with the state after two.
func (s *store) State() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for i := 1; i < s.nextID; i++ {
		if o, ok := s.orders[i]; ok {
			fmt.Fprintf(&b, "%d:%s*%d ", o.ID, o.Item, o.Qty)
		}
	}
	return strings.TrimSpace(b.String())
}

// handler serves the order API.
func (s *store) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", s.post)
	mux.HandleFunc("GET /orders/{id}", s.get)
	mux.HandleFunc("PUT /orders/{id}", s.put)
	mux.HandleFunc("DELETE /orders/{id}", s.delete)
	return mux
}

// post creates an order. With an Idempotency-Key it does so at most once
// per key: a retry gets the stored answer, a concurrent duplicate 409, a
// key reused for another request 422 (draft-ietf-httpapi-idempotency-key-
// header section 2.6).
func (s *store) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	var o order
	if err := json.Unmarshal(body, &o); err != nil || o.Item == "" || o.Qty <= 0 {
		http.Error(w, `want {"item": "...", "qty": N}`, http.StatusBadRequest)
		return
	}
	raw, hasKey := r.Header["Idempotency-Key"]
	key := ""
	if hasKey {
		if key, err = parseKey(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	fp := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), body...))

	s.mu.Lock()
	s.Attempts++
	now := s.now()
	if hasKey {
		e := s.keys[key]
		if e != nil && now.After(e.expires) && e.done {
			delete(s.keys, key) // expired: forgotten
			e = nil
		}
		switch {
		case e != nil && e.fingerprint != fp:
			s.mu.Unlock()
			http.Error(w, "Idempotency-Key already used for a different request",
				http.StatusUnprocessableEntity)
			return
		case e != nil && !e.done:
			s.mu.Unlock()
			http.Error(w, "a request with this Idempotency-Key is in progress",
				http.StatusConflict)
			return
		case e != nil:
			st, b := e.status, e.body
			s.mu.Unlock()
			w.Header().Set("Idempotent-Replayed", "true")
			writeJSON(w, st, b)
			return
		}
		if len(s.keys) >= maxKeys {
			s.expireKeys(now)
		}
		if len(s.keys) >= maxKeys {
			s.mu.Unlock()
			http.Error(w, "too many keys remembered", http.StatusServiceUnavailable)
			return
		}
		s.keys[key] = &keyEntry{fingerprint: fp}
		select {
		case s.started <- key:
		default: // nil, or nobody listening
		}
	}
	s.mu.Unlock()

	// Committing takes a while (a payment, a database): long enough for a
	// second request with the same key to arrive meanwhile.
	time.Sleep(s.work)

	s.mu.Lock()
	status, resp := s.commit(o)
	if hasKey {
		*s.keys[key] = keyEntry{fingerprint: fp, done: true, status: status,
			body: resp, expires: s.now().Add(s.ttl)}
	}
	lose := s.loseOne
	s.loseOne = false
	s.mu.Unlock()
	if lose {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close() // committed, and the answer never leaves
			return
		}
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/orders/"+strconv.Itoa(o.ID))
	}
	writeJSON(w, status, resp)
}

// commit creates the order; s.mu is held.
func (s *store) commit(o order) (int, []byte) {
	if len(s.orders) >= maxOrders {
		return http.StatusServiceUnavailable, []byte(`{"error":"store full"}`)
	}
	o.ID = s.nextID
	s.nextID++
	s.orders[o.ID] = o
	b, _ := json.Marshal(o)
	return http.StatusCreated, b
}

// expireKeys forgets expired keys; s.mu is held.
func (s *store) expireKeys(now time.Time) {
	for k, e := range s.keys {
		if e.done && now.After(e.expires) {
			delete(s.keys, k)
		}
	}
}

// withOrder runs f, with s.mu held, on the order the path names, and
// writes what f returns; a missing order gets 404.
func (s *store) withOrder(w http.ResponseWriter, r *http.Request,
	f func(id int, o order) (int, []byte)) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.Error(w, "bad order id", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	o, found := s.orders[id]
	var status int
	var body []byte
	if found {
		status, body = f(id, o)
	}
	s.mu.Unlock()
	switch {
	case !found:
		http.Error(w, "no such order", http.StatusNotFound)
	case body == nil:
		w.WriteHeader(status)
	default:
		writeJSON(w, status, body)
	}
}

// get is safe: it changes nothing.
func (s *store) get(w http.ResponseWriter, r *http.Request) {
	s.withOrder(w, r, func(_ int, o order) (int, []byte) {
		b, _ := json.Marshal(o)
		return http.StatusOK, b
	})
}

// put replaces an order with the one in the body: doing it twice leaves
// what doing it once did (RFC 9110 section 9.2.2).
func (s *store) put(w http.ResponseWriter, r *http.Request) {
	var o order
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&o); err != nil || o.Item == "" || o.Qty <= 0 {
		http.Error(w, `want {"item": "...", "qty": N}`, http.StatusBadRequest)
		return
	}
	s.withOrder(w, r, func(id int, _ order) (int, []byte) {
		o.ID = id
		s.orders[id] = o
		b, _ := json.Marshal(o)
		return http.StatusOK, b
	})
}

// delete removes an order: the second DELETE answers 404, but the state
// is what the first left.
func (s *store) delete(w http.ResponseWriter, r *http.Request) {
	s.withOrder(w, r, func(id int, _ order) (int, []byte) {
		delete(s.orders, id)
		return http.StatusNoContent, nil
	})
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

// parseKey reads the Idempotency-Key field: one Structured Field String
// (RFC 8941 section 3.3.3), a quoted string of printable ASCII with \"
// and \\ escapes, at most 255 characters here.
func parseKey(vals []string) (string, error) {
	if len(vals) != 1 {
		return "", fmt.Errorf("want one Idempotency-Key, got %d", len(vals))
	}
	v := strings.TrimSpace(vals[0])
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", fmt.Errorf(`Idempotency-Key must be a quoted string, like "8e03978e"`)
	}
	var b bytes.Buffer
	for i := 1; i < len(v)-1; i++ {
		c := v[i]
		switch {
		case c == '\\':
			i++
			if i >= len(v)-1 || v[i] != '"' && v[i] != '\\' {
				return "", fmt.Errorf("bad escape in Idempotency-Key")
			}
			b.WriteByte(v[i])
		case c == '"' || c < 0x20 || c > 0x7e:
			return "", fmt.Errorf("bad character in Idempotency-Key")
		default:
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 || b.Len() > 255 {
		return "", fmt.Errorf("Idempotency-Key must be 1 to 255 characters")
	}
	return b.String(), nil
}
