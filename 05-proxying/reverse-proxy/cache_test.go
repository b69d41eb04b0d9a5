package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// originServer answers with the given headers and counts how often it was asked.
func originServer(calls *atomic.Int64, status int, headers map[string]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "render %d", n)
	})
}

func fetch(c *cache, req *http.Request) (string, string, string) {
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	return rec.Header().Get("X-Cache"), rec.Header().Get("Age"), rec.Body.String()
}

func TestCacheRules(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		headers map[string]string
		reqHdr  map[string]string
		method  string
		stored  bool
	}{
		{"max-age", 200, map[string]string{"Cache-Control": "max-age=60"}, nil, "GET", true},
		{"s-maxage wins", 200, map[string]string{"Cache-Control": "max-age=0, s-maxage=60"}, nil, "GET", true},
		{"no max-age", 200, map[string]string{"Cache-Control": "public"}, nil, "GET", false},
		{"max-age=0", 200, map[string]string{"Cache-Control": "max-age=0"}, nil, "GET", false},
		{"no-store", 200, map[string]string{"Cache-Control": "max-age=60, no-store"}, nil, "GET", false},
		{"private", 200, map[string]string{"Cache-Control": "private, max-age=60"}, nil, "GET", false},
		{"set-cookie", 200, map[string]string{"Cache-Control": "max-age=60", "Set-Cookie": "a=b"}, nil, "GET", false},
		{"vary", 200, map[string]string{"Cache-Control": "max-age=60", "Vary": "Accept"}, nil, "GET", false},
		{"not 200", 404, map[string]string{"Cache-Control": "max-age=60"}, nil, "GET", false},
		{"bad max-age", 200, map[string]string{"Cache-Control": "max-age=soon"}, nil, "GET", false},
		{"authorization", 200, map[string]string{"Cache-Control": "max-age=60"},
			map[string]string{"Authorization": "Bearer x"}, "GET", false},
		{"post", 200, map[string]string{"Cache-Control": "max-age=60"}, nil, "POST", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			c := newCache(originServer(&calls, tc.status, tc.headers))
			for range 2 {
				req := httptest.NewRequest(tc.method, "http://shop/p", nil)
				for k, v := range tc.reqHdr {
					req.Header.Set(k, v)
				}
				fetch(c, req)
			}
			if stored := calls.Load() == 1; stored != tc.stored {
				t.Errorf("got %d calls to the origin for two fetches, want stored=%v", calls.Load(), tc.stored)
			}
		})
	}
}

func TestCacheFreshnessAndAge(t *testing.T) {
	var calls atomic.Int64
	c := newCache(originServer(&calls, 200, map[string]string{"Cache-Control": "max-age=10"}))
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	req := func() *http.Request { return httptest.NewRequest("GET", "http://shop/p", nil) }
	if x, _, body := fetch(c, req()); x != "MISS" || body != "render 1" {
		t.Fatalf("first: got %s %q", x, body)
	}
	now = now.Add(4 * time.Second)
	if x, age, body := fetch(c, req()); x != "HIT" || age != "4" || body != "render 1" {
		t.Errorf("after 4s: got %s Age %s %q, want HIT Age 4 render 1", x, age, body)
	}
	nc := req()
	nc.Header.Set("Cache-Control", "no-cache")
	if x, _, body := fetch(c, nc); x != "MISS" || body != "render 2" {
		t.Errorf("request no-cache: got %s %q, want a fresh MISS", x, body)
	}
	now = now.Add(10 * time.Second)
	if x, _, body := fetch(c, req()); x != "MISS" || body != "render 3" {
		t.Errorf("after max-age: got %s %q, want MISS render 3", x, body)
	}
}

func TestCacheBounds(t *testing.T) {
	var calls atomic.Int64
	big := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte(strings.Repeat("x", 2<<20)))
	})
	c := newCache(big)
	fetch(c, httptest.NewRequest("GET", "http://shop/big", nil))
	fetch(c, httptest.NewRequest("GET", "http://shop/big", nil))
	if calls.Load() != 2 {
		t.Errorf("a 2 MiB body: got %d origin calls, want 2 (too big to keep)", calls.Load())
	}
	c = newCache(originServer(&calls, 200, map[string]string{"Cache-Control": "max-age=60"}))
	c.maxEntries = 8
	for i := range 100 {
		fetch(c, httptest.NewRequest("GET", fmt.Sprintf("http://shop/%d", i), nil))
	}
	if n := len(c.entries); n > 8 {
		t.Errorf("got %d entries, want at most 8", n)
	}
}
