package servers

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"backend-protocols/04-execution/rawnet"
)

// Sharding is lecture 45's server: N listening sockets bound to one port
// with SO_REUSEPORT, each with its own accept queue and its own thread
// that accepts and reads, as NGINX with reuseport and Envoy do. The kernel
// picks a socket for each new connection by hashing its addresses.
type Sharding struct {
	Shards []*Shard
	addr   string
	once   sync.Once
}

// Shard is one listening socket and its thread.
type Shard struct {
	ID       int
	Listener *rawnet.Listener
	Loop     *rawnet.Loop
	closed   bool
}

// StartSharding binds n sockets to addr (a port of 0 picks one free port
// for all of them) and serves handler(i) on shard i.
func StartSharding(addr string, n int, handler func(shard int) rawnet.Handler) (*Sharding, error) {
	if n < 1 {
		return nil, errors.New("servers: need at least one shard")
	}
	s := &Sharding{}
	for i := range n {
		ln, err := rawnet.Listen(addr, rawnet.ListenConfig{ReusePort: true})
		if err != nil {
			s.Close()
			return nil, err
		}
		if i == 0 {
			// The others bind the port the first one got.
			host, _, _ := net.SplitHostPort(addr)
			addr = net.JoinHostPort(host, strconv.Itoa(int(ln.Addr().Port())))
			s.addr = ln.Addr().String()
		}
		sh := &Shard{ID: i, Listener: ln}
		s.Shards = append(s.Shards, sh)
		sh.Loop, err = rawnet.NewLoop(rawnet.LoopConfig{
			Name: fmt.Sprintf("shard %d", i), Handler: handler(i)})
		if err == nil {
			sh.Loop.Start()
			err = sh.Loop.AddListener(ln.FD(), false)
		}
		if err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Name returns "sharding".
func (s *Sharding) Name() string { return "sharding" }

// Addr returns the address every shard listens on.
func (s *Sharding) Addr() string { return s.addr }

// Close stops every shard.
func (s *Sharding) Close() error {
	s.once.Do(func() {
		for _, sh := range s.Shards {
			sh.Close()
		}
	})
	return nil
}

// Pause makes the shard stop accepting. Its socket stays in the port's
// group, so the kernel keeps queueing connections on it.
func (sh *Shard) Pause() error {
	return sh.Loop.RemoveListener(sh.Listener.FD())
}

// Close stops the shard's thread and closes its socket. The kernel resets
// the connections still waiting in its accept queue.
func (sh *Shard) Close() error {
	if sh.closed {
		return nil
	}
	sh.closed = true
	if sh.Loop != nil {
		sh.Loop.Close()
	}
	return sh.Listener.Close()
}

// ShardApp answers / with the shard's number, and the rest as App does.
func ShardApp(shard int) rawnet.Handler {
	return App("shard " + strconv.Itoa(shard))
}
