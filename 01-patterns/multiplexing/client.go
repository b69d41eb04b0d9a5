package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"time"
)

// newTransport returns a client transport that speaks HTTP/2 with prior
// knowledge (h2c) or HTTP/1.1 with at most limit connections per host (0:
// no limit), as a browser does with its six.
func newTransport(h2 bool, limit int) *http.Transport {
	tp := &http.Transport{MaxConnsPerHost: limit, MaxIdleConnsPerHost: 200}
	if h2 {
		tp.Protocols = new(http.Protocols)
		tp.Protocols.SetUnencryptedHTTP2(true)
	}
	return tp
}

// fetched is what one burst of concurrent requests measured on the client.
type fetched struct {
	Requests int
	Proto    string        // of the responses
	Conns    int           // distinct connections the client used
	MeanWait time.Duration // from asking the pool for a connection to getting one
	MaxWait  time.Duration
	Total    time.Duration // from the first request sent to the last response read
}

// fetchAll sends n GETs of url?i=1..n at once through c and reads every
// response. It counts connections by their local address, as httptrace
// reports them, so it works against any server.
func fetchAll(ctx context.Context, c *http.Client, url string, n int) (fetched, error) {
	var (
		mu    sync.Mutex
		res   = fetched{Requests: n}
		local = map[string]bool{}
		waits []time.Duration
		errs  []error
		wg    sync.WaitGroup
	)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	start := time.Now()
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			var asked time.Time
			trace := &httptrace.ClientTrace{
				GetConn: func(string) { asked = time.Now() },
				GotConn: func(info httptrace.GotConnInfo) {
					mu.Lock()
					defer mu.Unlock()
					local[info.Conn.LocalAddr().String()] = true
					waits = append(waits, time.Since(asked))
				},
			}
			proto, err := get(httptrace.WithClientTrace(ctx, trace), c,
				fmt.Sprintf("%s%si=%d", url, sep, i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			res.Proto = proto
		})
	}
	wg.Wait()
	res.Total = time.Since(start)
	res.Conns = len(local)
	if len(waits) > 0 {
		var sum time.Duration
		for _, w := range waits {
			sum += w
		}
		res.MeanWait = sum / time.Duration(len(waits))
		res.MaxWait = slices.Max(waits)
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("%d of %d requests failed, the first: %w",
			len(errs), n, errs[0])
	}
	return res, nil
}

// get fetches url, reads the whole body and returns the response's
// protocol.
func get(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Proto, nil
}

// shape summarises requests per connection, most first: [5 5 5 5 5 5]
// reads "6x5", [30] reads "1x30", [2 1 1] reads "1x2 2x1".
func shape(perConn []int) string {
	s := slices.Clone(perConn)
	slices.Sort(s)
	slices.Reverse(s)
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == s[i] {
			j++
		}
		parts = append(parts, fmt.Sprintf("%dx%d", j-i, s[i]))
		i = j
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
