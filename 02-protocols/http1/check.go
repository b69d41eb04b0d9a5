package main

import (
	"fmt"
	"strings"
	"time"
)

// check returns an error unless the scenario showed what it teaches.
func check(res result, cfg config) error {
	switch {
	case res.RawStatus != 200:
		return fmt.Errorf("raw GET: got %d, want 200", res.RawStatus)
	case res.KeepAlive.Accepted != 1 || res.Close.Accepted != int64(cfg.Requests):
		return fmt.Errorf("got %d connections with keep-alive and %d without, want 1 and %d",
			res.KeepAlive.Accepted, res.Close.Accepted, cfg.Requests)
	case len(res.PipeOrder) != 3 || !strings.HasPrefix(res.PipeOrder[0], "slow") ||
		!strings.Contains(res.PipeOrder[1], "quick-1") ||
		!strings.Contains(res.PipeOrder[2], "quick-2"):
		return fmt.Errorf("pipelined responses came back as %q", res.PipeOrder)
	case res.PipeArrival[1] < cfg.Slow:
		return fmt.Errorf("a quick answer arrived after %v, before the slow one's %v",
			res.PipeArrival[1], cfg.Slow)
	case len(res.StreamArrival) != cfg.Pieces || res.StreamTrailer != fmt.Sprint(cfg.Pieces):
		return fmt.Errorf("stream: got %d pieces and trailer %q, want %d",
			len(res.StreamArrival), res.StreamTrailer, cfg.Pieces)
	case res.StreamArrival[cfg.Pieces-1] < time.Duration(cfg.Pieces-1)*cfg.Interval:
		return fmt.Errorf("stream pieces arrived together (%v), not one by one",
			res.StreamArrival)
	case res.SmuggleStatus != 400 || !res.SmuggleClosed || res.AdminServed:
		return fmt.Errorf("smuggling: got %d closed=%v admin served=%v, want 400 closed and not served",
			res.SmuggleStatus, res.SmuggleClosed, res.AdminServed)
	case res.LorisStatus != 408:
		return fmt.Errorf("slow loris: got %d, want 408", res.LorisStatus)
	}
	return nil
}
