package main

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cache is a small shared cache in front of the proxy for GET responses
// that say they may be reused: status 200 with Cache-Control: max-age=N
// (RFC 9111 section 5.2.2.1) and nothing that forbids a shared cache from
// storing them (no-store, private, no-cache, Set-Cookie, Vary, or a
// request with Authorization; sections 3 and 5.2). A hit is served with
// an Age header (section 5.1) and never reaches a backend. It does not
// revalidate (no ETag or If-Modified-Since): an entry is fresh or it is
// fetched again.
type cache struct {
	next       http.Handler
	maxEntries int
	maxBody    int
	now        func() time.Time

	mu      sync.Mutex
	entries map[string]*entry

	hits, misses atomic.Int64
}

type entry struct {
	header  http.Header
	body    []byte
	stored  time.Time
	expires time.Time
}

func newCache(next http.Handler) *cache {
	return &cache{next: next, maxEntries: 256, maxBody: 1 << 20, now: time.Now,
		entries: map[string]*entry{}}
}

func (c *cache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.Header.Get("Authorization") != "" ||
		r.Header.Get("Upgrade") != "" {
		c.next.ServeHTTP(w, r)
		return
	}
	key := r.Host + r.URL.RequestURI()
	now := c.now()
	if e := c.lookup(key, now); e != nil && !directive(r.Header, "no-cache") {
		c.hits.Add(1)
		h := w.Header()
		for k, v := range e.header {
			h[k] = v
		}
		h.Set("Age", strconv.Itoa(int(now.Sub(e.stored)/time.Second)))
		h.Set("X-Cache", "HIT")
		w.WriteHeader(http.StatusOK)
		w.Write(e.body)
		return
	}
	c.misses.Add(1)
	w.Header().Set("X-Cache", "MISS")
	rec := &recorder{ResponseWriter: w, max: c.maxBody}
	c.next.ServeHTTP(rec, r)
	if ttl, ok := storable(rec); ok && rec.kept {
		hdr := rec.Header().Clone()
		hdr.Del("X-Cache")
		c.store(key, &entry{header: hdr, body: rec.body, stored: now, expires: now.Add(ttl)})
	}
}

func (c *cache) lookup(key string, now time.Time) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || !now.Before(e.expires) {
		return nil
	}
	return e
}

func (c *cache) store(key string, e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.maxEntries {
		// Make room: drop what has expired, else the oldest entry.
		var oldest string
		for k, v := range c.entries {
			if !e.stored.Before(v.expires) {
				delete(c.entries, k)
			} else if oldest == "" || v.stored.Before(c.entries[oldest].stored) {
				oldest = k
			}
		}
		if len(c.entries) >= c.maxEntries {
			delete(c.entries, oldest)
		}
	}
	c.entries[key] = e
}

// storable reports whether a response may be kept by a shared cache, and
// for how long.
func storable(rec *recorder) (time.Duration, bool) {
	h := rec.Header()
	if rec.status != http.StatusOK || h.Get("Set-Cookie") != "" || h.Get("Vary") != "" ||
		directive(h, "no-store") || directive(h, "private") || directive(h, "no-cache") {
		return 0, false
	}
	age, ok := maxAge(h)
	return age, ok && age > 0
}

// maxAge reads Cache-Control's max-age (or s-maxage, which wins for a
// shared cache).
func maxAge(h http.Header) (time.Duration, bool) {
	var age time.Duration
	found := false
	for _, d := range directives(h) {
		name, val, _ := strings.Cut(d, "=")
		if name != "max-age" && name != "s-maxage" {
			continue
		}
		n, err := strconv.Atoi(strings.Trim(val, `"`))
		if err != nil || n < 0 {
			return 0, false
		}
		if name == "s-maxage" || !found {
			age, found = time.Duration(n)*time.Second, true
		}
	}
	return age, found
}

func directives(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			out = append(out, strings.ToLower(strings.TrimSpace(d)))
		}
	}
	return out
}

func directive(h http.Header, name string) bool {
	for _, d := range directives(h) {
		if d == name || strings.HasPrefix(d, name+"=") {
			return true
		}
	}
	return false
}

// recorder passes a response through and keeps a copy of its body while
// it could still be stored. Unwrap lets http.ResponseController reach
// the real writer, so event streams still flush and upgrades still
// hijack through it.
type recorder struct {
	http.ResponseWriter
	max    int
	status int
	body   []byte
	kept   bool // body complete and within max
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		_, r.kept = storable(r)
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.kept {
		if len(r.body)+len(b) > r.max {
			r.kept, r.body = false, nil
		} else {
			r.body = append(r.body, b...)
		}
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
