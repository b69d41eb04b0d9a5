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
			Scenario: cfg.run,
			Serve:    serve,
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

// serve keeps the server up for real clients until ctx is done.
func serve(ctx context.Context, addr string, tl *timeline.Timeline) error {
	s, err := servers.StartSingleThread(addr, servers.App("single-thread"))
	if err != nil {
		return err
	}
	return servers.Serve(ctx, s, tl)
}
