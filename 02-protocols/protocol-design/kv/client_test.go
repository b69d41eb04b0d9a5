package kv

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// pair starts a Server on one end of a loopback TCP connection and returns
// a Client on the other.
func pair(t *testing.T, s *Server, text bool) *Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	newCodec := NewBinaryCodec
	if text {
		newCodec = NewTextCodec
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), newCodec(sc, sc)) }()
	c := NewClient(newCodec(cc, cc), cc)
	t.Cleanup(func() {
		c.Close()
		if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Logf("server: %v", err)
		}
		sc.Close()
	})
	return c
}

// TestOutOfOrderReplies: the server answers a slow request after a fast
// one sent later; the client still hands each caller its own reply.
func TestOutOfOrderReplies(t *testing.T) {
	release := make(chan struct{})
	var order []string
	var mu sync.Mutex
	s := &Server{Handler: func(ctx context.Context, req Message) Message {
		if req.Key == "slow" {
			<-release
		}
		mu.Lock()
		order = append(order, req.Key)
		mu.Unlock()
		return Message{Value: []byte("value of " + req.Key)}
	}}
	for _, text := range []bool{false, true} {
		order = nil
		c := pair(t, s, text)
		ctx := context.Background()
		slow := make(chan Message, 1)
		go func() {
			rep, err := c.Do(ctx, Message{Version: 1, Type: Get, Key: "slow"})
			if err != nil {
				t.Error(err)
			}
			slow <- rep
		}()
		fast, err := c.Do(ctx, Message{Version: 1, Type: Get, Key: "fast"})
		if err != nil {
			t.Fatal(err)
		}
		close(release)
		s := <-slow
		if string(fast.Value) != "value of fast" || string(s.Value) != "value of slow" {
			t.Errorf("got %q and %q, want each key's own value", fast.Value, s.Value)
		}
		if fast.ID == s.ID {
			t.Errorf("got id %d twice", s.ID)
		}
		mu.Lock()
		if len(order) != 2 || order[0] != "fast" {
			t.Errorf("got answered in order %v, want fast first", order)
		}
		mu.Unlock()
		release = make(chan struct{})
	}
}

func TestVersionRefusal(t *testing.T) {
	s := &Server{MaxVersion: 1, Handler: func(ctx context.Context, req Message) Message {
		return Message{}
	}}
	c := pair(t, s, false)
	rep, err := c.Do(context.Background(), Message{Version: 2, Type: Set,
		Key: "k", TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != StatusUnsupportedVersion || rep.Version != 1 {
		t.Errorf("got %v, want unsupported-version in v1", rep)
	}
	rep, err = c.Do(context.Background(), Message{Version: 1, Type: Set, Key: "k"})
	if err != nil || rep.Status != StatusOK {
		t.Errorf("after downgrading: got %v, %v; want ok", rep, err)
	}
}

func TestClientCloseFailsWaiters(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	s := &Server{Handler: func(ctx context.Context, req Message) Message {
		close(entered)
		<-release
		return Message{}
	}}
	defer close(release)
	c := pair(t, s, false)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Do(context.Background(), Message{Version: 1, Type: Get, Key: "k"})
		errc <- err
	}()
	<-entered
	c.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("got %v, want ErrClosed", err)
	}
}
