package jobs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxBody bounds what a client reads of a response: the course's bodies are
// a few bytes.
const maxBody = 4 << 10

// Client speaks the job API to a server at Base (for example
// "http://127.0.0.1:8080").
type Client struct {
	HTTP *http.Client // http.DefaultClient if nil
	Base string
}

// Submit starts a job and returns its id.
func (c *Client) Submit(ctx context.Context) (string, error) {
	body, _, err := c.do(ctx, http.MethodPost, "/submit")
	if err != nil {
		return "", err
	}
	return ParseID(body)
}

// Get requests a status path (such as "/checkstatus?jobId=job:1") and
// returns the progress and the change time the server reported. A 404
// returns ErrNotFound.
func (c *Client) Get(ctx context.Context, path string) (Status, error) {
	body, h, err := c.do(ctx, http.MethodGet, path)
	if err != nil {
		return Status{}, err
	}
	p, err := ParseStatus(body)
	if err != nil {
		return Status{}, err
	}
	st := Status{Progress: p}
	if v := h.Get(ChangedHeader); v != "" {
		if st.ChangedAt, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return Status{}, fmt.Errorf("jobs: bad %s: %w", ChangedHeader, err)
		}
	}
	return st, nil
}

func (c *Client) do(ctx context.Context, method, path string) (string, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, nil)
	if err != nil {
		return "", nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return string(b), resp.Header, nil
	case http.StatusNotFound:
		return "", nil, ErrNotFound
	default:
		return "", nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
}
