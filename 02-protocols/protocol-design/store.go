package main

import (
	"context"
	"strings"
	"sync"
	"time"

	"backend-protocols/02-protocols/protocol-design/kv"
)

// maxKeys bounds what the store holds; beyond it SET answers "full".
const maxKeys = 100_000

// store is the key-value store behind the protocol. Keys starting "cold:"
// take the cold delay to answer, as a read from disk would, so that a
// slow request and fast ones can be in flight together.
type store struct {
	cold time.Duration

	mu   sync.Mutex
	data map[string]entry
	// onRequest, if set, is told of every request as the handler starts.
	onRequest func(kv.Message)
}

type entry struct {
	value   []byte
	expires time.Time // zero: never
}

func newStore(cold time.Duration) *store {
	return &store{cold: cold, data: make(map[string]entry)}
}

// handle is the kv.Handler.
func (s *store) handle(ctx context.Context, req kv.Message) kv.Message {
	if s.onRequest != nil {
		s.onRequest(req)
	}
	if strings.HasPrefix(req.Key, "cold:") {
		t := time.NewTimer(s.cold)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	rep := kv.Message{Type: req.Type.Reply()}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.data[req.Key]
	if ok && !e.expires.IsZero() && now.After(e.expires) {
		delete(s.data, req.Key)
		ok = false
	}
	switch req.Type {
	case kv.Get:
		if !ok {
			rep.Status = kv.StatusNotFound
		}
		rep.Value = e.value
	case kv.Set:
		if !ok && len(s.data) >= maxKeys {
			rep.Status = kv.StatusFull
			break
		}
		e = entry{value: append([]byte(nil), req.Value...)}
		if req.TTL > 0 {
			e.expires = now.Add(req.TTL)
		}
		s.data[req.Key] = e
	case kv.Delete:
		if !ok {
			rep.Status = kv.StatusNotFound
		}
		delete(s.data, req.Key)
	}
	return rep
}
