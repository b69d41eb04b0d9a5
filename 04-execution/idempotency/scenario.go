package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

type result struct {
	// A response lost after the commit, then a retry.
	NoKeyOrders, KeyOrders int    // orders made
	KeyRetry               answer // the retry's answer with a key
	// Two concurrent requests with one key.
	Concurrent      [2]answer
	ConcurrentMade  int
	Mismatch        answer // the key reused with another body
	Expired         answer // the key after it expired
	ExpiredOrders   int
	Methods         []methodRun
	GoRetryAttempts int // server attempts for one http.Client.Do, with a key
	GoNoKeyErr      error
}

// methodRun is a request sent once and then again.
type methodRun struct {
	Request       string
	First, Second answer
	Once, Twice   string // the orders after one and after two
}

const body1 = `{"item":"book","qty":1}`

// run is the scenario as the demo harness calls it.
func (cfg *config) run(ctx context.Context, tl *timeline.Timeline) error {
	_, err := scenario(ctx, tl, *cfg)
	return err
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	st := newStore(cfg.TTL, cfg.Work)
	clock := time.Now()
	var clockMu sync.Mutex
	st.now = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
	srv, err := demo.StartHTTP(ctx, &http.Server{Handler: st.handler()}, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer srv.Close()
	c := newClient(srv.URL, tl)
	tl.Note("server", "orders on %s; keys remembered for %v", srv.URL, cfg.TTL)

	step := func(title string) { tl.Printf(""); tl.Printf("-- %s", title) }

	step("no key: the answer is lost after the commit, the client retries")
	st.LoseNextResponse()
	before := st.Count()
	if a, _ := c.post(ctx, "", body1); a.Err != nil {
		return res, a.Err
	}
	res.NoKeyOrders = st.Count() - before
	tl.Note("server", "%d orders made for one purchase: %s", res.NoKeyOrders, st.State())

	step("with a key: the retry gets the stored answer")
	st.LoseNextResponse()
	before = st.Count()
	res.KeyRetry, _ = c.post(ctx, `"order-7f3a"`, body1)
	if res.KeyRetry.Err != nil {
		return res, res.KeyRetry.Err
	}
	res.KeyOrders = st.Count() - before
	tl.Note("server", "%d order made", res.KeyOrders)

	step("two requests with one key at once")
	before = st.Count()
	started := make(chan string, 1)
	st.mu.Lock()
	st.started = started
	st.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { res.Concurrent[0] = c.do(ctx, "POST", "/orders", `"order-91c2"`, body1) })
	select { // the first is being worked on: now the second
	case <-started:
	case <-ctx.Done():
		return res, ctx.Err()
	}
	st.mu.Lock()
	st.started = nil
	st.mu.Unlock()
	res.Concurrent[1] = c.do(ctx, "POST", "/orders", `"order-91c2"`, body1)
	wg.Wait()
	res.ConcurrentMade = st.Count() - before
	tl.Note("server", "%d order made", res.ConcurrentMade)

	step("the same key for a different order")
	res.Mismatch = c.do(ctx, "POST", "/orders", `"order-7f3a"`, `{"item":"lamp","qty":2}`)

	step(fmt.Sprintf("%v later the key has expired", cfg.TTL))
	clockMu.Lock()
	clock = clock.Add(cfg.TTL + time.Second)
	clockMu.Unlock()
	before = st.Count()
	res.Expired = c.do(ctx, "POST", "/orders", `"order-7f3a"`, body1)
	res.ExpiredOrders = st.Count() - before

	step("GET, PUT and DELETE twice, and POST twice, without keys")
	for _, m := range []struct{ method, path, body string }{
		{"GET", "/orders/1", ""},
		{"PUT", "/orders/1", `{"item":"book","qty":3}`},
		{"DELETE", "/orders/2", ""},
		{"POST", "/orders", body1},
	} {
		r := methodRun{Request: m.method + " " + m.path}
		r.First = c.do(ctx, m.method, m.path, "", m.body)
		r.Once = st.State()
		r.Second = c.do(ctx, m.method, m.path, "", m.body)
		r.Twice = st.State()
		res.Methods = append(res.Methods, r)
	}

	step("Go's own Transport retries a request that carries Idempotency-Key")
	if res.GoRetryAttempts, res.GoNoKeyErr, err = goRetries(ctx, tl, srv.URL, st); err != nil {
		return res, err
	}
	report(tl, res)
	return res, nil
}

// goRetries sends one POST through a keep-alive http.Client whose
// connection is reused, with the answer lost, with and without a key. Go's
// Transport resends a request it deems replayable (a GET, or anything
// with an Idempotency-Key header) when a reused connection fails before
// an answer; without a key the caller gets the error.
func goRetries(ctx context.Context, tl *timeline.Timeline, base string, st *store) (int, error, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	send := func(key string) (int, error) {
		// Open the connection first, so the POST goes on a reused one.
		if resp, err := hc.Get(base + "/orders/1"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		st.LoseNextResponse()
		st.mu.Lock()
		before := st.Attempts
		st.mu.Unlock()
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/orders",
			strings.NewReader(body1))
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.Attempts - before, err
	}
	withKey, err := send(`"order-go"`)
	if err != nil {
		return 0, nil, fmt.Errorf("with a key: %w", err)
	}
	tl.Note("client", "one http.Client.Do with a key: the server saw %d attempts", withKey)
	_, noKey := send("")
	tl.Note("client", "the same without a key: %v", noKey)
	return withKey, noKey, nil
}

func report(tl *timeline.Timeline, res result) {
	tl.Printf("")
	tl.Printf("one purchase, answer lost, one retry: %d orders without a key, %d with one",
		res.NoKeyOrders, res.KeyOrders)
	tl.Printf("two at once with one key: %d and %d, %d order made",
		res.Concurrent[0].Status, res.Concurrent[1].Status, res.ConcurrentMade)
	tl.Printf("a key reused for another body: %d; after it expired: %d, %d new order",
		res.Mismatch.Status, res.Expired.Status, res.ExpiredOrders)
	tl.Printf("%-16s %8s %8s  %s", "sent twice", "first", "second", "state after one = after two?")
	for _, m := range res.Methods {
		tl.Printf("%-16s %8d %8d  %v", m.Request, m.First.Status, m.Second.Status, m.Once == m.Twice)
	}
}
