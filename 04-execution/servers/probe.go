package servers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/timing"
)

// Sample is one request a probe made.
type Sample struct {
	At      time.Time // when it was sent
	Latency time.Duration
}

// Probe is a few light clients, each on its own keep-alive connection,
// sending GET / with a short gap between answers, to show how long a
// cheap request waits while something else goes on in the server.
type Probe struct {
	clients []*rawnet.Client
	samples [][]Sample
	stop    chan struct{}
	wg      sync.WaitGroup
	errc    chan error
}

// StartProbe connects n clients to addr one after another (each sends a
// first request before the next connects, so the server accepts them in
// order) and sets them going, gap apart.
func StartProbe(ctx context.Context, addr string, n int, gap time.Duration) (*Probe, error) {
	p := &Probe{samples: make([][]Sample, n), stop: make(chan struct{}),
		errc: make(chan error, n)}
	for range n {
		c, err := rawnet.Dial(ctx, addr)
		if err == nil {
			_, err = c.Get(ctx, "/")
		}
		if err != nil {
			if c != nil {
				c.Close()
			}
			p.closeClients()
			return nil, err
		}
		p.clients = append(p.clients, c)
	}
	for i, c := range p.clients {
		p.wg.Go(func() {
			for {
				select {
				case <-p.stop:
					return
				case <-ctx.Done():
					p.errc <- ctx.Err()
					return
				default:
				}
				at := time.Now()
				if _, err := c.Get(ctx, "/"); err != nil {
					p.errc <- fmt.Errorf("probe client %d: %w", i, err)
					return
				}
				p.samples[i] = append(p.samples[i], Sample{at, time.Since(at)})
				time.Sleep(gap) // pacing, so the probe itself is light
			}
		})
	}
	return p, nil
}

// Stop stops the clients, closes their connections and returns each
// client's samples.
func (p *Probe) Stop() ([][]Sample, error) {
	close(p.stop)
	p.wg.Wait()
	p.closeClients()
	select {
	case err := <-p.errc:
		return p.samples, err
	default:
		return p.samples, nil
	}
}

func (p *Probe) closeClients() {
	for _, c := range p.clients {
		c.Close()
	}
}

// Between summarizes the latencies of the samples sent in [from, to).
func Between(samples []Sample, from, to time.Time) timing.Summary {
	var d []time.Duration
	for _, s := range samples {
		if !s.At.Before(from) && s.At.Before(to) {
			d = append(d, s.Latency)
		}
	}
	return timing.Summarize(d)
}
