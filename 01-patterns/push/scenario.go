package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

// config sizes the scenario.
type config struct {
	Rounds int // chat messages per client in the latency run
	Queue  int // a client's send queue, in messages
	SndBuf int // the server's socket send buffer per client, bytes
	Flood  int // messages one client sends while another stalls
}

// result is what the scenario measured.
type result struct {
	Joins      map[string]int // "just connected." notices each client got
	Latency    timing.Summary // send to receive at every other client
	SelfEcho   bool           // senders got their own messages back
	Dropped    bool           // the stalled client was dropped
	DropAt     int            // after this many flood messages
	DropAfter  time.Duration  // from the flood's start
	Delivered  map[string]int // flood messages each reading client got
	FloodLat   timing.Summary // push latency during the flood
	LeftSeen   int            // clients that saw the leave notice
	Clients    []int          // hub size: 3 joined, +stalled, after drop, after leave
	FloodBytes int
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	h := newHub(cfg.Queue, cfg.SndBuf, func(kind, text string) {
		if kind != "says" {
			tl.Note("server", "%s", text)
		}
	})
	run, err := demo.StartHTTP(ctx, &http.Server{Handler: newMux(h)}, "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	defer h.close()
	defer run.Close()
	url := "ws://" + run.Addr + "/ws"
	tl.Note("server", "chat at %s (page at %s/)", url, run.URL)
	tl.Note("server", "per client: a queue of %d messages, a %d KiB socket send buffer",
		cfg.Queue, cfg.SndBuf>>10)
	return chat(ctx, tl, url, cfg, h)
}

// chat runs the story against a chat server at url; h is the server's
// hub when it runs in this process (nil for -connect).
func chat(ctx context.Context, tl *timeline.Timeline, url string, cfg config, h *hub) (result, error) {
	res := result{Joins: map[string]int{}, Delivered: map[string]int{}}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tl.Printf("== three clients join; everyone hears of each")
	var cs []*chatClient
	defer func() {
		for _, c := range cs {
			c.close()
		}
	}()
	for range 3 {
		c, err := dialChat(ctx, url, 0, true)
		if err != nil {
			return res, err
		}
		cs = append(cs, c)
		tl.Note(c.Name, "connected")
		for _, o := range cs {
			r, err := o.waitFor(wait, c.Name+" just connected.")
			if err != nil {
				return res, err
			}
			tl.Send("server", o.Name, "%q", r.Text)
		}
	}
	for _, c := range cs {
		res.Joins[c.Name] = c.count("User")
	}
	res.Clients = append(res.Clients, hubSize(h))
	tl.Printf("")

	tl.Printf("== %d messages, each pushed to all three; latency from send to every other client",
		3*cfg.Rounds)
	var lat []time.Duration
	res.SelfEcho = true
	for i := range 3 * cfg.Rounds {
		from := cs[i%3]
		text := fmt.Sprintf("message %d", i+1)
		sent, err := from.say(text)
		if err != nil {
			return res, err
		}
		want := from.Name + " says: " + text
		for _, to := range cs {
			r, err := to.waitFor(wait, want)
			if err != nil {
				return res, err
			}
			if to == from {
				continue
			}
			lat = append(lat, r.At.Sub(sent))
			if i < 2 {
				tl.Send("server", to.Name, "%q after %s", r.Text, us(r.At.Sub(sent)))
			}
		}
		if i < 2 {
			tl.Note(from.Name, "got its own message back too")
		}
	}
	res.Latency = timing.Summarize(lat)
	tl.Note("clients", "push latency over %d deliveries: %s", res.Latency.N, res.Latency)
	tl.Printf("")

	if h == nil {
		return res, nil // against someone else's server, stop here
	}
	tl.Printf("== a client stops reading; another floods %d messages", cfg.Flood)
	stalled, err := dialChat(ctx, url, 4096, false)
	if err != nil {
		return res, err
	}
	cs = append(cs, stalled)
	tl.Note(stalled.Name, "connected with a 4 KiB receive buffer and never reads")
	for _, c := range cs[:3] {
		if _, err := c.waitFor(wait, stalled.Name+" just connected."); err != nil {
			return res, err
		}
	}
	res.Clients = append(res.Clients, hubSize(h))
	body := strings.Repeat("x", 1000)
	sentAt := make([]time.Time, cfg.Flood)
	start := time.Now()
	for i := range cfg.Flood {
		text := fmt.Sprintf("flood %d %s", i, body)
		if sentAt[i], err = cs[0].say(text); err != nil {
			return res, err
		}
		// At the pace the reading clients keep: only the stalled one
		// can fall behind. (A burst longer than the queue would drop
		// everyone: the queue's length is the burst a client absorbs.)
		for _, c := range cs[:3] {
			if _, err := c.waitFor(wait, cs[0].Name+" says: "+text); err != nil {
				return res, err
			}
		}
		if !res.Dropped && h.isDropped(stalled.Name) {
			res.Dropped, res.DropAfter, res.DropAt = true, time.Since(start), i+1
			tl.Note("server", "dropped %s after %d flood messages, %s into the flood:",
				stalled.Name, i+1, timeline.Ms(res.DropAfter))
			tl.Note("server", "%d messages filled its queue, about %d KiB sat in the socket buffers",
				cfg.Queue, (i+1-cfg.Queue)*(len(text)+20)>>10)
		}
	}
	var flood []time.Duration
	for _, c := range cs[1:3] {
		last := fmt.Sprintf("%s says: flood %d %s", cs[0].Name, cfg.Flood-1, body)
		if _, err := c.waitFor(wait, last); err != nil {
			return res, err
		}
		for _, r := range c.messages() {
			var i int
			if _, err := fmt.Sscanf(r.Text, cs[0].Name+" says: flood %d", &i); err == nil {
				res.Delivered[c.Name]++
				flood = append(flood, r.At.Sub(sentAt[i]))
			}
		}
	}
	if _, dropped := h.count(); dropped != 1 {
		return res, fmt.Errorf("%d clients were dropped, want only the stalled one", dropped)
	}
	res.FloodBytes = cfg.Flood * (len(body) + 10)
	res.FloodLat = timing.Summarize(flood)
	for _, c := range cs[1:3] {
		tl.Note(c.Name, "got %d of %d flood messages", res.Delivered[c.Name], cfg.Flood)
	}
	tl.Note("clients", "push latency during the flood: %s", res.FloodLat)
	if _, err := cs[0].waitFor(wait, stalled.Name+" left."); err != nil {
		return res, err
	}
	res.Clients = append(res.Clients, hubSize(h))
	tl.Printf("")

	tl.Printf("== a client leaves; the others hear of it and it leaves the list")
	leaver := cs[2]
	leaver.close()
	tl.Note(leaver.Name, "closed with 1000")
	for _, c := range cs[:2] {
		r, err := c.waitFor(wait, leaver.Name+" left.")
		if err != nil {
			return res, err
		}
		res.LeftSeen++
		tl.Send("server", c.Name, "%q", r.Text)
	}
	for deadline := time.Now().Add(5 * time.Second); hubSize(h) != 2; {
		if time.Now().After(deadline) {
			return res, errors.New("the leaver is still on the broadcast list")
		}
		time.Sleep(time.Millisecond) // polling the hub's size
	}
	res.Clients = append(res.Clients, hubSize(h))
	tl.Note("server", "broadcast list: %v clients after joins, the stall, the drop, the leave",
		res.Clients)
	return res, nil
}

func hubSize(h *hub) int {
	if h == nil {
		return -1
	}
	n, _ := h.count()
	return n
}

func us(d time.Duration) string {
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}
