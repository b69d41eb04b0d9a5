package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/timeline"
)

func TestIdempotency(t *testing.T) {
	cfg := config{TTL: time.Hour, Work: 20 * time.Millisecond}
	res, err := scenario(context.Background(), timeline.Quiet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.NoKeyOrders != 2 || res.KeyOrders != 1 {
		t.Errorf("answer lost and retried: got %d orders without a key and %d with one, want 2 and 1",
			res.NoKeyOrders, res.KeyOrders)
	}
	if !res.KeyRetry.Replayed || res.KeyRetry.Status != 201 {
		t.Errorf("the keyed retry: got %v, want the stored 201, replayed", res.KeyRetry)
	}
	c := res.Concurrent
	if c[0].Status != 201 || c[1].Status != 409 || res.ConcurrentMade != 1 {
		t.Errorf("two at once with one key: got %d and %d, %d orders; want 201, 409, 1",
			c[0].Status, c[1].Status, res.ConcurrentMade)
	}
	if res.Mismatch.Status != 422 {
		t.Errorf("key reused for another body: got %v, want 422", res.Mismatch)
	}
	if res.Expired.Status != 201 || res.Expired.Replayed || res.ExpiredOrders != 1 {
		t.Errorf("expired key: got %v and %d orders, want a fresh 201 and 1", res.Expired,
			res.ExpiredOrders)
	}
	want := map[string]struct {
		first, second int
		same          bool
	}{
		"GET /orders/1":    {200, 200, true},
		"PUT /orders/1":    {200, 200, true},
		"DELETE /orders/2": {204, 404, true},
		"POST /orders":     {201, 201, false},
	}
	for _, m := range res.Methods {
		w := want[m.Request]
		if m.First.Status != w.first || m.Second.Status != w.second || (m.Once == m.Twice) != w.same {
			t.Errorf("%s twice: got %d, %d, state unchanged by the second: %v; want %d, %d, %v",
				m.Request, m.First.Status, m.Second.Status, m.Once == m.Twice,
				w.first, w.second, w.same)
		}
	}
	if res.GoRetryAttempts != 2 || res.GoNoKeyErr == nil {
		t.Errorf("Go's Transport: got %d attempts with a key and error %v without; want 2 and an error",
			res.GoRetryAttempts, res.GoNoKeyErr)
	}
}

func TestKeySyntax(t *testing.T) {
	st := newStore(time.Hour, 0)
	srv := httptest.NewServer(st.handler())
	defer srv.Close()
	cases := []struct {
		key  string
		want int
	}{
		{`"abc"`, 201},
		{`"a\"b\\c"`, 201},
		{`abc`, 400},    // not a quoted string
		{`""`, 400},     // empty
		{`"a\nb"`, 400}, // bad escape
		{`"caf` + "\xe9" + `"`, 400},
		{`"` + strings.Repeat("k", 256) + `"`, 400},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("POST", srv.URL+"/orders",
			strings.NewReader(`{"item":"x","qty":1}`))
		req.Header.Set("Idempotency-Key", c.key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("Idempotency-Key %q: got %d, want %d", c.key, resp.StatusCode, c.want)
		}
	}
	for _, body := range []string{`{}`, `not json`, `{"item":"x","qty":-1}`} {
		resp, err := srv.Client().Post(srv.URL+"/orders", "application/json",
			strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("body %q: got %d, want 400", body, resp.StatusCode)
		}
	}
}
