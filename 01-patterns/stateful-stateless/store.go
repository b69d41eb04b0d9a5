package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"
)

// maxSessions bounds the shared store; a full store refuses new sessions.
const maxSessions = 100_000

// sessionID is the form of a session id: 128 random bits in hex.
var sessionID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// sessionStore is the shared session store of the "store" mode: a server
// of its own, as Redis or a database would be, so sessions outlive any
// instance of the app. PUT /sessions/{id} {"user":..,"ttl_ms":..} stores
// one, GET reads it (404 if unknown or expired), DELETE removes it.
type sessionStore struct {
	mu       sync.Mutex
	sessions map[string]stored
}

type stored struct {
	User    string
	Expires time.Time
}

func newSessionStore() *sessionStore {
	return &sessionStore{sessions: make(map[string]stored)}
}

func (s *sessionStore) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !sessionID.MatchString(id) {
			http.Error(w, "bad session id", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		switch r.Method {
		case http.MethodGet:
			st, ok := s.sessions[id]
			if !ok || !time.Now().Before(st.Expires) {
				delete(s.sessions, id)
				http.NotFound(w, r)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"user": st.User})
		case http.MethodPut:
			var in struct {
				User  string `json:"user"`
				TTLms int64  `json:"ttl_ms"`
			}
			err := json.NewDecoder(io.LimitReader(r.Body, 1024)).Decode(&in)
			if err != nil || !validUser(in.User) || in.TTLms <= 0 {
				http.Error(w, "want {\"user\":..,\"ttl_ms\":..}", http.StatusBadRequest)
				return
			}
			if len(s.sessions) >= maxSessions {
				s.sweep()
			}
			if len(s.sessions) >= maxSessions {
				http.Error(w, "store full", http.StatusInsufficientStorage)
				return
			}
			s.sessions[id] = stored{User: in.User,
				Expires: time.Now().Add(time.Duration(in.TTLms) * time.Millisecond)}
			w.WriteHeader(http.StatusNoContent)
		case http.MethodDelete:
			delete(s.sessions, id)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", "GET, PUT, DELETE")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
	return mux
}

// sweep drops expired sessions; the caller holds s.mu.
func (s *sessionStore) sweep() {
	now := time.Now()
	for id, st := range s.sessions {
		if !now.Before(st.Expires) {
			delete(s.sessions, id)
		}
	}
}

// errNoSession is what storeClient.get returns for an unknown session.
var errNoSession = errors.New("no such session")

// storeClient is how an app instance talks to the shared store.
type storeClient struct {
	base string
	hc   *http.Client
}

func (c *storeClient) do(ctx context.Context, method, id string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/sessions/"+id,
		bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return c.hc.Do(req)
}

func (c *storeClient) put(ctx context.Context, id, user string, ttl time.Duration) error {
	b, _ := json.Marshal(map[string]any{"user": user, "ttl_ms": ttl.Milliseconds()})
	resp, err := c.do(ctx, http.MethodPut, id, b)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("store: PUT: %s", resp.Status)
	}
	return nil
}

func (c *storeClient) get(ctx context.Context, id string) (string, error) {
	resp, err := c.do(ctx, http.MethodGet, id, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var out struct{ User string }
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1024)).Decode(&out); err != nil {
			return "", fmt.Errorf("store: %w", err)
		}
		return out.User, nil
	case http.StatusNotFound, http.StatusBadRequest:
		return "", errNoSession
	}
	return "", fmt.Errorf("store: GET: %s", resp.Status)
}

func (c *storeClient) del(ctx context.Context, id string) error {
	resp, err := c.do(ctx, http.MethodDelete, id, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
