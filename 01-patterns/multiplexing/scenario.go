package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"backend-protocols/internal/conntrack"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// config sizes the scenario.
type config struct {
	Assets    int           // requests a page makes at once
	Limit     int           // HTTP/1.1 connections per host, as a browser
	Work      time.Duration // server time per asset
	Loads     []int         // concurrent requests through the proxy
	Pool      int           // the proxy's HTTP/1.1 connections to the backend
	Clients   int           // HTTP/2 clients (connections) in front of the proxy
	ProxyWork time.Duration // backend time per request behind the proxy
	Slow      time.Duration // the slow request of the head-of-line part
}

var defaults = config{Assets: 30, Limit: 6, Work: 20 * time.Millisecond,
	Loads: []int{1, 10, 100}, Pool: 10, Clients: 2,
	ProxyWork: 10 * time.Millisecond, Slow: 200 * time.Millisecond}

// page is one page load: the page, then its assets all at once.
type page struct {
	How     string
	Client  fetched
	Server  conntrack.Stats // for the assets only
	PerConn []int           // assets per connection, as the server counted
}

// result is what the scenario measured.
type result struct {
	Pages []page // HTTP/1.1 limited, HTTP/1.1 unlimited, HTTP/2, HTTP/2 cold
	Proxy []proxied
	HOL   []blocked
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	tr := conntrack.New()
	run, err := demo.StartHTTP(ctx, newBackend(tr, cfg.Work), "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer run.Close()
	tl.Note("server", "on %s: HTTP/1.1 and h2c; each asset takes %v", run.URL, cfg.Work)

	tl.Printf("")
	tl.Printf("== a page with %d assets fetched at once", cfg.Assets)
	for _, how := range []struct {
		name  string
		h2    bool
		limit int
		warm  bool
	}{
		{fmt.Sprintf("HTTP/1.1, %d per host", cfg.Limit), false, cfg.Limit, true},
		{"HTTP/1.1, no limit", false, 0, true},
		{"HTTP/2", true, 0, true},
		{"HTTP/2, cold client", true, 0, false},
	} {
		p, err := loadPage(ctx, tl, tr, run.URL, how.name, how.h2, how.limit,
			how.warm, cfg.Assets)
		if err != nil {
			return res, fmt.Errorf("%s: %w", how.name, err)
		}
		res.Pages = append(res.Pages, p)
	}
	printPages(tl, res.Pages)

	tl.Printf("")
	tl.Printf("== a proxy between clients and a backend (%v per request)", cfg.ProxyWork)
	tl.Printf("  %s: %d HTTP/2 client connections, a pool of %d HTTP/1.1 to the backend",
		demuxing, cfg.Clients, cfg.Pool)
	tl.Printf("  %s: an HTTP/1.1 connection per client request, one HTTP/2 to the backend",
		muxing)
	for _, way := range []string{demuxing, muxing} {
		for _, n := range cfg.Loads {
			p, err := throughProxy(ctx, way, n, cfg.Pool, cfg.Clients, cfg.ProxyWork)
			if err != nil {
				return res, fmt.Errorf("%s, %d requests: %w", way, n, err)
			}
			res.Proxy = append(res.Proxy, p)
		}
	}
	printProxy(tl, res.Proxy)

	tl.Printf("")
	tl.Printf("== head-of-line blocking: a fast request behind slow ones (%v each)",
		cfg.Slow)
	hol, err := headOfLine(ctx, tr, run, cfg)
	if err != nil {
		return res, err
	}
	res.HOL = hol
	for _, b := range hol {
		line := fmt.Sprintf("  %-38s fast request answered after %8s",
			b.How, timeline.Ms(b.Fast))
		if b.Wait > time.Millisecond {
			line += fmt.Sprintf(", %s of it waiting for a connection",
				timeline.Ms(b.Wait))
		}
		tl.Printf("%s", line)
	}
	return res, nil
}

// loadPage fetches the page (unless cold), then all its assets at once,
// through a fresh client, and reads the server's counts for the assets.
func loadPage(ctx context.Context, tl *timeline.Timeline, tr *conntrack.Tracker,
	base, how string, h2 bool, limit int, warm bool, assets int) (page, error) {
	p := page{How: how}
	tp := newTransport(h2, limit)
	defer tp.CloseIdleConnections()
	c := &http.Client{Transport: tp}
	tr.Reset()
	if warm {
		tl.Send("browser", "server", "%s: GET / (the page)", how)
		if _, err := get(ctx, c, base+"/"); err != nil {
			return p, err
		}
		// Count the assets only: the page's connection stays known and
		// counts again when an asset reuses it.
		tr.Reset()
	}
	tl.Send("browser", "server", "%s: GET /asset?i=1..%d, all at once", how, assets)
	f, err := fetchAll(ctx, c, base+"/asset", assets)
	if err != nil {
		return p, err
	}
	p.Client, p.Server, p.PerConn = f, tr.Stats(), tr.PerConn()
	tl.Send("server", "browser", "%d x 200 over %s in %s", assets, f.Proto,
		timeline.Ms(f.Total))
	return p, nil
}

func printPages(tl *timeline.Timeline, pages []page) {
	tl.Printf("")
	tl.Printf("  %-22s %9s %9s %-14s %7s %9s %9s %9s", "client", "accepted",
		"carrying", "assets/conn", "at once", "mean wait", "max wait", "total")
	for _, p := range pages {
		tl.Printf("  %-22s %9d %9d %-14s %7d %9s %9s %9s", p.How, p.Server.Accepted,
			p.Server.Used, shape(p.PerConn), p.Server.MaxInFlight,
			timeline.Ms(p.Client.MeanWait), timeline.Ms(p.Client.MaxWait),
			timeline.Ms(p.Client.Total))
	}
	for _, l := range []string{
		"accepted: TCP connections the server accepted for the assets",
		"  (the page's connection is reused, not accepted again);",
		"carrying: connections that carried any asset; at once: most in the handler together;",
		"wait: from asking the client's pool for a connection to getting one.",
	} {
		tl.Printf("  %s", l)
	}
	if cold := pages[len(pages)-1]; cold.Server.Accepted > cold.Server.Used {
		tl.Printf("  The cold HTTP/2 client dialled %d connections and used %d: net/http "+
			"dials for each", cold.Server.Accepted, cold.Server.Used)
		tl.Printf("  request that waits while the first connection comes up, " +
			"then keeps one. Count streams, not handshakes.")
	}
}

func printProxy(tl *timeline.Timeline, runs []proxied) {
	tl.Printf("")
	tl.Printf("  %-18s %5s %7s %-10s %8s %-14s %9s", "", "reqs", "client",
		"reqs/conn", "backend", "reqs/conn", "total")
	for _, p := range runs {
		tl.Printf("  %-18s %5d %7d %-10s %8d %-14s %9s", p.Way, p.N,
			p.Front.Used, shape(p.FrontPer), p.Back.Used, shape(p.BackPer),
			timeline.Ms(p.Total))
	}
	tl.Printf("  client, backend: connections that carried the load, as the proxy")
	tl.Printf("  and the backend counted them.")
}

// headOfLine times a fast request stuck behind slow ones three ways.
func headOfLine(ctx context.Context, tr *conntrack.Tracker, run *demo.Running,
	cfg config) ([]blocked, error) {
	var out []blocked
	b, err := pipelined(ctx, run.Addr, cfg.Slow)
	if err != nil {
		return nil, fmt.Errorf("pipelined: %w", err)
	}
	out = append(out, b)
	for _, h2 := range []bool{false, true} {
		b, err := behindBusy(ctx, tr, run.URL, h2, cfg.Limit, cfg.Slow)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.How, err)
		}
		out = append(out, b)
	}
	return out, nil
}
