package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"backend-protocols/01-patterns/sse/eventsource"
	"backend-protocols/internal/timeline"
)

// received is an event and when the client got it.
type received struct {
	eventsource.Event
	At time.Time
}

// streamClient reads an event stream the way a browser's EventSource does:
// it remembers the last event ID and the server's retry time, and sends
// Last-Event-ID when it reconnects.
type streamClient struct {
	name   string
	hc     *http.Client
	url    string
	tl     *timeline.Timeline
	lastID string
	retry  time.Duration
}

func newStreamClient(name string, hc *http.Client, url string, tl *timeline.Timeline) *streamClient {
	// Browsers choose their own initial retry time; 3 s is common.
	return &streamClient{name: name, hc: hc, url: url, tl: tl, retry: 3 * time.Second}
}

// connect opens one stream and reads until max events arrived (0: no
// limit), the server ends the stream (io.EOF), or ctx ends.
func (c *streamClient) connect(ctx context.Context, max int) (evs []received, proto string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.lastID != "" {
		req.Header.Set("Last-Event-ID", c.lastID)
	}
	c.tl.Send(c.name, "server", "GET %s%s", strings.TrimPrefix(req.URL.RequestURI(), ""),
		lastIDNote(c.lastID))
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.Proto, fmt.Errorf("GET %s: %s", c.url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return nil, resp.Proto, fmt.Errorf("GET %s: content type %q", c.url, ct)
	}
	c.tl.Send("server", c.name, "%s 200 text/event-stream", resp.Proto)
	dec := eventsource.NewDecoder(resp.Body)
	defer func() {
		if d := dec.Retry(); d > 0 {
			c.retry = d
		}
	}()
	for max == 0 || len(evs) < max {
		e, err := dec.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				c.tl.Note(c.name, "the server ended the stream")
			}
			return evs, resp.Proto, err
		}
		c.lastID = dec.LastEventID()
		evs = append(evs, received{e, time.Now()})
		c.tl.Send("server", c.name, "id: %s  %s: %q", e.ID, e.Type, e.Data)
	}
	return evs, resp.Proto, nil
}

func lastIDNote(id string) string {
	if id == "" {
		return ""
	}
	return "  Last-Event-ID: " + id
}

// follow reads events until it has n, reconnecting after the server's
// retry time whenever the stream ends, as EventSource does. It returns
// the events and, for each reconnection, the time from the end of one
// stream to the request for the next.
func (c *streamClient) follow(ctx context.Context, n int) ([]received, []time.Duration, error) {
	var all []received
	var waits []time.Duration
	for {
		evs, _, err := c.connect(ctx, n-len(all))
		ended := time.Now()
		all = append(all, evs...)
		if len(all) >= n {
			return all, waits, nil
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return all, waits, err
		}
		c.tl.Note(c.name, "reconnects in %v, as the stream's retry: asked", c.retry)
		select {
		case <-time.After(c.retry):
		case <-ctx.Done():
			return all, waits, ctx.Err()
		}
		waits = append(waits, time.Since(ended))
	}
}

// connect follows the event stream at addr ("host:port" means
// http://host:port/stream; a URL is used as it is) until n events arrived.
func connect(ctx context.Context, tl *timeline.Timeline, addr string, n int) error {
	url := addr
	if !strings.Contains(addr, "://") {
		url = "http://" + addr + "/stream"
	}
	c := newStreamClient("client", &http.Client{}, url, tl)
	evs, waits, err := c.follow(ctx, n)
	tl.Printf("%d events, %d reconnects", len(evs), len(waits))
	return err
}
