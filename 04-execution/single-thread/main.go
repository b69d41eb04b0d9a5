// Single thread: one OS thread listens, accepts and reads every
// connection through a non-blocking epoll loop, and runs every request
// itself, as Node.js and Redis do. Fast while requests are cheap; one
// CPU-heavy request stalls every other client.
//
//	go run ./04-execution/single-thread
//
// Four light clients send GET / all along and one client asks for a slow
// primality check. Look at the light clients' latency before and during
// the heavy request: during it, their requests wait for the whole of it,
// because the only thread is busy. The thread's id and CPU time come from
// the kernel (gettid, getrusage RUSAGE_THREAD). Serve it for curl:
//
//	go run ./04-execution/single-thread -serve 127.0.0.1:8080
//	curl "http://127.0.0.1:8080/prime?n=50000017" &  curl http://127.0.0.1:8080/
package main

import (
	"context"
	"time"

	"backend-protocols/04-execution/servers"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	cfg := config{Light: 4, Gap: 2 * time.Millisecond}
	p := demo.New("single-thread",
		"Single thread: one epoll loop on one thread; a heavy request stalls all.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl, cfg)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return serve(ctx, addr, tl)
			},
		})
	p.Flags.Uint64Var(&cfg.Prime, "n", 50000017,
		"the heavy request's number: /prime?n=N tries every divisor below N")
	p.Main()
}

type config struct {
	Prime uint64        // the heavy request's n
	Light int           // light clients
	Gap   time.Duration // between a light client's requests
}

// serve runs the single-threaded server until ctx is done.
func serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	s, err := servers.StartSingleThread(addr, servers.App("single-thread"))
	if err != nil {
		return err
	}
	defer s.Close()
	tl.Note("server", "thread %d serves %s; try /prime?n=%d", s.Loop.TID(),
		s.Addr(), 50000017)
	<-ctx.Done()
	st := s.Loop.Stats()
	tl.Note("server", "%d connections, %d requests", st.Accepted, st.Requests)
	return nil
}
