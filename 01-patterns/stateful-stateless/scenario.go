package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"time"

	"backend-protocols/internal/timeline"
)

// config sizes the scenario.
type config struct {
	TTL   time.Duration // of sessions and tokens
	Lines int           // of the streamed report
	Every time.Duration // between report lines
	Cut   int           // lines read before the connection dies
}

var defaults = config{TTL: time.Hour, Lines: 100, Every: 3 * time.Millisecond, Cut: 10}

// story is what one mode did with alice's login.
type story struct {
	Mode                      mode
	Login, Other, Same        reply
	AfterRestart, AfterLogout reply
}

// refusal is a forged token presented through the balancer.
type refusal struct {
	Name     string
	Status   int
	Instance string
	Reason   string
}

// wire is the stateless protocol on a stateful connection.
type wire struct {
	Calls       []reply // on one TCP connection
	Conns       int     // connections the balancer accepted for them
	Requests    int     // requests it counted on them
	LinesBefore int     // report lines read before the connection died
	Cut         error   // what reading the rest returned
	RetryLines  int
	RetryFrom   string
	ConnsAfter  int
}

// result is what the scenario measured.
type result struct {
	Stories []story
	Refused []refusal
	Wire    wire
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	key := make([]byte, 32)
	rand.Read(key)
	signer := &Signer{Key: key, TTL: cfg.TTL}
	for _, m := range []mode{stateful, token, store} {
		tl.Printf("")
		tl.Printf("== %s: %s", m, map[mode]string{
			stateful: "the session lives in the memory of the instance that made it",
			token:    "the client carries a signed token (HS256); instances remember nothing",
			store:    "the session lives in a store every instance shares",
		}[m])
		st, err := tell(ctx, tl, appConfig{Mode: m, Signer: signer, TTL: cfg.TTL})
		if err != nil {
			return res, fmt.Errorf("%s: %w", m, err)
		}
		res.Stories = append(res.Stories, st)
	}
	tl.Printf("")
	tl.Printf("== forged and stale tokens, through the balancer")
	var err error
	if res.Refused, err = refuse(ctx, tl, signer, cfg); err != nil {
		return res, fmt.Errorf("forgeries: %w", err)
	}
	tl.Printf("")
	tl.Printf("== a stateless protocol on a stateful transport: one TCP connection")
	if res.Wire, err = overOneConnection(ctx, tl, signer, cfg); err != nil {
		return res, fmt.Errorf("one connection: %w", err)
	}
	tl.Printf("")
	tl.Printf("== alice logged in on %s; what her credential got afterwards",
		res.Stories[0].Login.Instance)
	tl.Printf("  %-9s %-16s %-16s %-22s %s", "mode", "next (other)",
		"next (same)", "after restarting both", "after logout")
	for _, s := range res.Stories {
		logout := "-"
		if s.AfterLogout.Status != 0 {
			logout = fmt.Sprintf("%d on %s", s.AfterLogout.Status, s.AfterLogout.Instance)
		}
		tl.Printf("  %-9s %-16s %-16s %-22s %s", s.Mode,
			fmt.Sprintf("%d on %s", s.Other.Status, s.Other.Instance),
			fmt.Sprintf("%d on %s", s.Same.Status, s.Same.Instance),
			fmt.Sprintf("%d on %s", s.AfterRestart.Status, s.AfterRestart.Instance),
			logout)
	}
	tl.Printf("  (a token cannot be revoked: it is good until it expires, " +
		"unless every instance shares a deny list)")
	return res, nil
}

// tell logs alice in through the balancer and follows her credential
// across instances, a restart of both, and (token and store) a logout.
func tell(ctx context.Context, tl *timeline.Timeline, cfg appConfig) (story, error) {
	s := story{Mode: cfg.Mode}
	cl, err := startCluster(ctx, tl, cfg, nil)
	if err != nil {
		return s, err
	}
	defer cl.close()
	tp := &http.Transport{}
	defer tp.CloseIdleConnections()
	c := &client{base: cl.lb.URL, hc: &http.Client{Transport: tp}, tl: tl}
	if s.Login, err = c.login(ctx, "alice"); err != nil {
		return s, err
	}
	if s.Login.Status != http.StatusOK {
		return s, fmt.Errorf("login: got %d, want 200", s.Login.Status)
	}
	cred := s.Login.Credential
	if s.Other, err = c.me(ctx, cred); err != nil {
		return s, err
	}
	if s.Same, err = c.me(ctx, cred); err != nil {
		return s, err
	}
	if err := cl.restart(ctx); err != nil {
		return s, err
	}
	if s.AfterRestart, err = c.me(ctx, cred); err != nil {
		return s, err
	}
	if cfg.Mode == stateful {
		return s, nil // nothing left to log out of
	}
	out, err := c.logout(ctx, cred)
	if err != nil {
		return s, err
	}
	if !out.Revoked {
		tl.Note(out.Instance, "logged out, but nothing to revoke: the token "+
			"is still good until it expires")
	}
	s.AfterLogout, err = c.me(ctx, cred)
	return s, err
}

// refuse presents each forgery to the token cluster.
func refuse(ctx context.Context, tl *timeline.Timeline, signer *Signer, cfg config) ([]refusal, error) {
	cl, err := startCluster(ctx, tl, appConfig{Mode: token, Signer: signer,
		TTL: cfg.TTL}, nil)
	if err != nil {
		return nil, err
	}
	defer cl.close()
	tp := &http.Transport{}
	defer tp.CloseIdleConnections()
	c := &client{base: cl.lb.URL, hc: &http.Client{Transport: tp}, tl: timeline.Quiet()}
	var out []refusal
	tl.Printf("  %-28s %6s %-4s %s", "token", "status", "on", "reason")
	for _, f := range forgeries(signer, signer.Sign("alice")) {
		r, err := c.me(ctx, f.Token)
		if err != nil {
			return out, err
		}
		out = append(out, refusal{Name: f.Name, Status: r.Status,
			Instance: r.Instance, Reason: r.Error})
		tl.Printf("  %-28s %6d %-4s %s", f.Name, r.Status, r.Instance, r.Error)
	}
	return out, nil
}

// overOneConnection sends independent requests on one TCP connection,
// then has that connection reset in the middle of a long response, and
// retries: the request carries all it needs, so the retry (on a new
// connection, on whichever instance) loses nothing.
func overOneConnection(ctx context.Context, tl *timeline.Timeline, signer *Signer,
	cfg config) (wire, error) {
	var w wire
	cl, err := startCluster(ctx, tl, appConfig{Mode: token, Signer: signer,
		TTL: cfg.TTL}, nil)
	if err != nil {
		return w, err
	}
	defer cl.close()
	tp := &http.Transport{MaxConnsPerHost: 1}
	defer tp.CloseIdleConnections()
	c := &client{base: cl.lb.URL, hc: &http.Client{Transport: tp}, tl: tl}
	tok := signer.Sign("alice")
	cl.lbConns.Reset()
	for _, cred := range []string{tok, "", tok} {
		r, err := c.me(ctx, cred)
		if err != nil {
			return w, err
		}
		w.Calls = append(w.Calls, r)
	}
	st := cl.lbConns.Stats()
	w.Conns, w.Requests = st.Accepted, st.Requests
	tl.Note("lb", "%d requests on %d connection: the second, without a token, "+
		"was refused although the first on the same connection was not", w.Requests, w.Conns)

	path := fmt.Sprintf("/report?lines=%d&every=%v", cfg.Lines, cfg.Every)
	for attempt := 1; attempt <= 2; attempt++ {
		lines, from, err := c.report(ctx, path, tok, func(local string, n int) {
			if attempt == 1 && n == cfg.Cut {
				tl.Note("network", "connection %s <-> lb reset (RST) after line %d",
					local, n)
				if err := cl.lbConns.Kill(local); err != nil {
					tl.Note("network", "could not reset: %v", err)
				}
			}
		})
		if attempt == 1 {
			w.LinesBefore, w.Cut = lines, err
			if err == nil {
				return w, fmt.Errorf("the report arrived whole (%d lines); "+
					"the connection was not cut", lines)
			}
			tl.Note("client", "read failed after %d of %d lines: %v", lines, cfg.Lines, err)
			tl.Note("client", "GET is idempotent and carries its token: retry")
			continue
		}
		if err != nil {
			return w, fmt.Errorf("retry: %w", err)
		}
		w.RetryLines, w.RetryFrom = lines, from
	}
	w.ConnsAfter = cl.lbConns.Stats().Accepted
	tl.Note("client", "retry: all %d lines from %s on a new connection "+
		"(the balancer accepted %d in all)", w.RetryLines, w.RetryFrom, w.ConnsAfter)
	return w, nil
}

// report streams path and counts its lines, calling each(local, n) after
// line n, where local is the client's end of the connection.
func (c *client) report(ctx context.Context, path, tok string,
	each func(local string, n int)) (int, string, error) {
	var local string
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		local = i.Conn.LocalAddr().String()
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace),
		http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	c.tl.Send("client", "lb", "GET %s (Bearer %s)", path, short(tok))
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	from := resp.Header.Get("X-Instance")
	if resp.StatusCode != http.StatusOK {
		return 0, from, fmt.Errorf("got %s", resp.Status)
	}
	c.tl.Send(from, "client", "200, streaming lines")
	sc := bufio.NewScanner(resp.Body)
	n := 0
	for sc.Scan() {
		n++
		each(local, n)
	}
	err = sc.Err()
	if err == nil && n == 0 {
		err = errors.New("empty report")
	}
	return n, from, err
}
