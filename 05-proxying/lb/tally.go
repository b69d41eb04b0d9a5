package lb

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Tally sends n GET requests for url with c, one after another, and counts
// the answers by the backend that sent them (the X-Backend header, or the
// body's first line). Any failure or non-200 answer stops it.
func Tally(ctx context.Context, c *http.Client, url string, n int) (map[string]int, error) {
	got := map[string]int{}
	for i := range n {
		name, err := Fetch(ctx, c, url)
		if err != nil {
			return got, fmt.Errorf("request %d: %w", i+1, err)
		}
		got[name]++
	}
	return got, nil
}

// Fetch sends one GET and returns which backend answered it.
func Fetch(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if name := resp.Header.Get("X-Backend"); name != "" {
		return name, nil
	}
	name, _, _ := strings.Cut(string(body), "\n")
	return name, nil
}

// Shares formats a tally in name order: "b1 34  b2 33  b3 33".
func Shares(m map[string]int) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, m[n]))
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, "  ")
}
