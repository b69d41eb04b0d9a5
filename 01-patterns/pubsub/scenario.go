package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"backend-protocols/01-patterns/pubsub/resp"
	"backend-protocols/internal/timeline"
)

// result is what the scenario measured.
type result struct {
	Topics topicResult
	Slow   slowResult
	Rates  []rate
	Queue  queueResult
}

type topicResult struct {
	Receivers map[string]int64    // PUBLISH channel -> receiver count it returned
	Got       map[string][]string // subscriber -> messages, as "channel:payload"
}

// subscriber is a connection in subscribed mode whose pushed messages are
// read by a goroutine.
type subscriber struct {
	name string
	conn *resp.Conn
	msgs chan resp.Value
	done chan error
}

// subscribe connects, sends SUBSCRIBE or PSUBSCRIBE for names, waits for
// every confirmation, then reads messages in the background.
func subscribe(ctx context.Context, tl *timeline.Timeline, addr, name, cmd string,
	names ...string) (*subscriber, error) {
	conn, err := resp.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	tl.Send(name, "broker", "%s %s", cmd, strings.Join(names, " "))
	conn.Send(append([]string{cmd}, names...)...)
	if err := conn.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	for range names {
		v, err := conn.Receive()
		if err == nil {
			err = v.Err()
		}
		if err != nil {
			conn.Close()
			return nil, err
		}
		tl.Send("broker", name, "%s", v)
	}
	s := &subscriber{name: name, conn: conn, msgs: make(chan resp.Value, 1024),
		done: make(chan error, 1)}
	go func() {
		defer close(s.msgs)
		for {
			v, err := conn.Receive()
			if err != nil {
				s.done <- err
				return
			}
			s.msgs <- v
		}
	}()
	return s, nil
}

// next waits for the subscriber's next message.
func (s *subscriber) next(ctx context.Context) (resp.Value, error) {
	select {
	case v, ok := <-s.msgs:
		if !ok {
			return v, <-s.done
		}
		return v, nil
	case <-ctx.Done():
		return resp.Value{}, ctx.Err()
	case <-time.After(5 * time.Second):
		return resp.Value{}, errors.New("no message within 5s")
	}
}

func (s *subscriber) close() {
	s.conn.Close()
	for range s.msgs {
	}
}

// payloadOf returns "channel:payload" of a message or pmessage push.
func payloadOf(v resp.Value) string {
	e := v.Elems
	switch {
	case len(e) == 3 && e[0].Str == "message":
		return e[1].Str + ":" + e[2].Str
	case len(e) == 4 && e[0].Str == "pmessage":
		return e[2].Str + ":" + e[3].Str
	}
	return v.String()
}

// topics shows fan-out: who gets what, and PUBLISH's receiver counts. It
// works against the demo's broker and against a real redis-server.
func topics(ctx context.Context, tl *timeline.Timeline, addr string) (topicResult, error) {
	res := topicResult{Receivers: map[string]int64{}, Got: map[string][]string{}}
	tl.Printf("== topics: every subscriber of a channel gets every message published after it subscribed")
	subs := map[string]*subscriber{}
	defer func() {
		for _, s := range subs {
			s.close()
		}
	}()
	for _, s := range []struct{ name, cmd, ch string }{
		{"alice", "SUBSCRIBE", "news"}, {"bob", "PSUBSCRIBE", "n*"},
		{"carol", "PSUBSCRIBE", "sport.*"},
	} {
		sub, err := subscribe(ctx, tl, addr, s.name, s.cmd, s.ch)
		if err != nil {
			return res, err
		}
		subs[s.name] = sub
	}
	pub, err := resp.Dial(ctx, addr)
	if err != nil {
		return res, err
	}
	defer pub.Close()
	publish := func(ch, msg string) error {
		tl.Send("publisher", "broker", "PUBLISH %s %s", ch, msg)
		v, err := pub.Do("PUBLISH", ch, msg)
		if err != nil {
			return err
		}
		tl.Send("broker", "publisher", "%s", v)
		res.Receivers[ch+":"+msg] = v.Int
		return nil
	}
	if err := publish("news", "hello"); err != nil {
		return res, err
	}
	if err := publish("sport.tennis", "6-4"); err != nil {
		return res, err
	}
	if err := publish("weather", "rain"); err != nil {
		return res, err
	}
	late, err := subscribe(ctx, tl, addr, "dave", "SUBSCRIBE", "news")
	if err != nil {
		return res, err
	}
	subs["dave"] = late
	if err := publish("news", "second"); err != nil {
		return res, err
	}
	// Each subscriber gets exactly what it should, in order.
	want := map[string]int{"alice": 2, "bob": 2, "carol": 1, "dave": 1}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		for range want[name] {
			v, err := subs[name].next(ctx)
			if err != nil {
				return res, fmt.Errorf("%s: %w", name, err)
			}
			tl.Send("broker", name, "%s", v)
			res.Got[name] = append(res.Got[name], payloadOf(v))
		}
	}
	return res, nil
}

type slowResult struct {
	Messages, Size int
	// Alone and WithSlow are the publisher's times for the same burst
	// without and with a subscriber that reads nothing.
	Alone, WithSlow time.Duration
	FastGot         int
	SlowCut         bool // the broker closed the slow subscriber's connection
	Receivers       [2]int64
}

// burst publishes res.Messages messages to firehose in batches, never more
// than two batches ahead of the fast subscriber (the way an application
// paces itself by its real consumers), and returns the publisher's time,
// how many the fast subscriber got and the first and last receiver counts.
func burst(ctx context.Context, addr string, fast *subscriber, n, size int) (time.Duration, int, [2]int64, error) {
	var counts [2]int64
	pub, err := resp.Dial(ctx, addr)
	if err != nil {
		return 0, 0, counts, err
	}
	defer pub.Close()
	const batch = 32
	payload := strings.Repeat("x", size)
	got := 0
	start := time.Now()
	for sent := 0; sent < n; {
		for got < sent-2*batch {
			if _, err := fast.next(ctx); err != nil {
				return 0, got, counts, err
			}
			got++
		}
		k := min(batch, n-sent)
		for range k {
			pub.Send("PUBLISH", "firehose", payload)
		}
		if err := pub.Flush(); err != nil {
			return 0, got, counts, err
		}
		for i := range k {
			v, err := pub.Receive()
			if err != nil {
				return 0, got, counts, err
			}
			if sent+i == 0 {
				counts[0] = v.Int
			}
			counts[1] = v.Int
		}
		sent += k
	}
	elapsed := time.Since(start)
	for got < n {
		if _, err := fast.next(ctx); err != nil {
			return elapsed, got, counts, err
		}
		got++
	}
	return elapsed, got, counts, nil
}

// slowSubscriber publishes the same burst twice: to a fast subscriber
// alone, then with a subscriber that reads nothing. The broker cuts the
// slow one off when its output queue passes the limit; the publisher and
// the fast subscriber carry on as before.
func slowSubscriber(ctx context.Context, tl *timeline.Timeline, b *broker, addr string) (slowResult, error) {
	res := slowResult{Messages: 4000, Size: 4 << 10}
	tl.Printf("")
	tl.Printf("== a subscriber that stops reading: %d messages of %d KiB, broker output limit %d KiB",
		res.Messages, res.Size>>10, b.outputLimit>>10)
	fast, err := subscribe(ctx, tl, addr, "fast", "SUBSCRIBE", "firehose")
	if err != nil {
		return res, err
	}
	defer fast.close()
	if res.Alone, _, _, err = burst(ctx, addr, fast, res.Messages, res.Size); err != nil {
		return res, err
	}
	tl.Note("publisher", "%d messages to the fast subscriber alone in %s", res.Messages,
		timeline.Ms(res.Alone))

	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return res, err
	}
	// A small receive window, as on a slow link: the kernel holds little.
	nc.(*net.TCPConn).SetReadBuffer(16 << 10)
	slow := resp.NewConn(nc)
	defer slow.Close()
	if _, err := slow.Do("SUBSCRIBE", "firehose"); err != nil {
		return res, err
	}
	tl.Note("slow", "subscribed to firehose, then reads nothing")
	res.WithSlow, res.FastGot, res.Receivers, err = burst(ctx, addr, fast, res.Messages, res.Size)
	if err != nil {
		return res, err
	}
	slow.SetDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := slow.Receive(); err != nil {
			res.SlowCut = !errors.Is(err, os.ErrDeadlineExceeded)
			break
		}
	}
	tl.Note("publisher", "the same %d with the slow one subscribed too: %s; receivers went from %d to %d",
		res.Messages, timeline.Ms(res.WithSlow), res.Receivers[0], res.Receivers[1])
	tl.Note("fast", "received %d of %d", res.FastGot, res.Messages)
	tl.Note("slow", "cut off by the broker: %v (%d slow subscribers dropped so far)",
		res.SlowCut, b.slowClosed.Load())
	return res, nil
}

// rate is a measured pub/sub throughput.
type rate struct {
	Subscribers int
	Messages    int
	Elapsed     time.Duration
}

// PerSecond is messages published per second, each delivered to every
// subscriber.
func (r rate) PerSecond() float64 { return float64(r.Messages) / r.Elapsed.Seconds() }

// throughput publishes n small messages to k subscribers, pipelined, and
// times until every subscriber has all of them.
func throughput(ctx context.Context, addr string, k, n int) (rate, error) {
	r := rate{Subscribers: k, Messages: n}
	ch := "bench." + strconv.Itoa(k)
	done := make(chan error, k)
	var conns []*resp.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range k {
		c, err := resp.Dial(ctx, addr)
		if err != nil {
			return r, err
		}
		conns = append(conns, c)
		if _, err := c.Do("SUBSCRIBE", ch); err != nil {
			return r, err
		}
	}
	pub, err := resp.Dial(ctx, addr)
	if err != nil {
		return r, err
	}
	defer pub.Close()
	start := time.Now()
	for _, c := range conns {
		go func() {
			for range n {
				if _, err := c.Receive(); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	go func() {
		for i := range n {
			pub.Send("PUBLISH", ch, "payload of a typical small message, 48 bytes..")
			if i%256 == 255 {
				pub.Flush()
			}
		}
		pub.Flush()
	}()
	for range n {
		if _, err := pub.Receive(); err != nil {
			return r, err
		}
	}
	for range k {
		if err := <-done; err != nil {
			return r, err
		}
	}
	r.Elapsed = time.Since(start)
	return r, nil
}

func scenario(ctx context.Context, tl *timeline.Timeline) (result, error) {
	var res result
	b, err := newBroker(tl, "")
	if err != nil {
		return res, err
	}
	defer b.close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- b.serve(sctx, ln) }()
	defer func() { stop(); <-served }()
	addr := ln.Addr().String()
	tl.Note("broker", "listening on %s", addr)

	if res.Topics, err = topics(ctx, tl, addr); err != nil {
		return res, fmt.Errorf("topics: %w", err)
	}
	if res.Slow, err = slowSubscriber(ctx, tl, b, addr); err != nil {
		return res, fmt.Errorf("slow subscriber: %w", err)
	}
	tl.Printf("")
	tl.Printf("== throughput: small messages, pipelined, through the broker")
	for _, k := range []int{1, 8} {
		r, err := throughput(ctx, addr, k, 20000)
		if err != nil {
			return res, fmt.Errorf("throughput: %w", err)
		}
		res.Rates = append(res.Rates, r)
		tl.Printf("  %d subscriber(s): %6.0f messages/s published, %7.0f deliveries/s",
			k, r.PerSecond(), r.PerSecond()*float64(k))
	}
	dir, err := os.MkdirTemp("", "pubsub")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	if res.Queue, err = workQueue(ctx, tl, filepath.Join(dir, "queue.log")); err != nil {
		return res, fmt.Errorf("work queue: %w", err)
	}
	return res, nil
}
