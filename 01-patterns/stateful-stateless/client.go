package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"backend-protocols/internal/timeline"
)

// client is the user's side: it logs in through the balancer and then
// presents its credential (Authorization: Bearer) with every request.
type client struct {
	base string
	hc   *http.Client
	tl   *timeline.Timeline
}

// reply is an answer as the client saw it.
type reply struct {
	Status     int
	Instance   string // from X-Instance: which instance answered
	User       string
	Credential string // from a login
	Error      string // why a 401 was a 401
	Revoked    bool   // from a logout
}

func (r reply) String() string {
	switch {
	case r.Status == http.StatusOK && r.User != "":
		return fmt.Sprintf("200 %s", r.User)
	case r.Error != "":
		return fmt.Sprintf("%d %s", r.Status, r.Error)
	}
	return fmt.Sprint(r.Status)
}

// call sends one request; a non-nil form makes it a POST.
func (c *client) call(ctx context.Context, path, cred string, form url.Values) (reply, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return reply{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	shown := "GET " + path
	if form != nil {
		shown = "POST " + path
		if len(form) > 0 {
			shown += " " + form.Encode()
		}
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
		shown += " (Bearer " + short(cred) + ")"
	}
	c.tl.Send("client", "lb", "%s", shown)
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	var out struct {
		User, Credential, Error string
		Revoked                 bool
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
			return reply{}, fmt.Errorf("%s: %w", shown, err)
		}
	}
	r := reply{Status: resp.StatusCode, Instance: resp.Header.Get("X-Instance"),
		User: out.User, Credential: out.Credential, Error: out.Error, Revoked: out.Revoked}
	from := r.Instance
	if from == "" {
		from = "lb"
	}
	c.tl.Send(from, "client", "%s", r)
	return r, nil
}

func (c *client) login(ctx context.Context, user string) (reply, error) {
	return c.call(ctx, "/login", "", url.Values{"user": {user}})
}

func (c *client) me(ctx context.Context, cred string) (reply, error) {
	return c.call(ctx, "/me", cred, nil)
}

func (c *client) logout(ctx context.Context, cred string) (reply, error) {
	return c.call(ctx, "/logout", cred, url.Values{})
}

// short abbreviates a credential for the narrative.
func short(cred string) string {
	if len(cred) <= 16 {
		return cred
	}
	return cred[:8] + "…" + cred[len(cred)-6:]
}
