// Package servers holds the five server architectures of lectures 41 to 45,
// built from rawnet's loops, plus net/http serving the same application,
// so that the demos can tell each one's story and the comparison can load
// all of them the same way.
//
//	SingleThread   one thread listens, accepts and reads (Node.js, Redis)
//	MultiReader    one acceptor thread, N reader threads (memcached)
//	MessageLB      one reader thread, N worker threads (RAMCloud)
//	MultiAcceptor  N threads accept on one socket (with EPOLLEXCLUSIVE)
//	Sharding       N sockets on one port with SO_REUSEPORT (NGINX, Envoy)
//	NetHTTP        Go's net/http: a goroutine per connection
//
// Every server answers the same small application (App). Linux only.
package servers

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"backend-protocols/04-execution/rawnet"
)

// Server is what the comparison needs from every architecture.
type Server interface {
	Name() string
	Addr() string // host:port
	Close() error
}

// answer is the application: the same routes whichever architecture
// serves them.
//
//	GET /            200 "hello from NAME"
//	GET /prime?n=N   200 "N is prime" or "N is not prime", decided the
//	                 slow way: CPU-bound for as long as N is large
func answer(name, path string, query func(string) string) (int, string) {
	switch path {
	case "/":
		return 200, "hello from " + name + "\n"
	case "/prime":
		n, err := strconv.ParseUint(query("n"), 10, 63)
		if err != nil || n > MaxPrime {
			return 400, fmt.Sprintf("want /prime?n=N with N <= %d\n", MaxPrime)
		}
		if IsPrime(n) {
			return 200, fmt.Sprintf("%d is prime\n", n)
		}
		return 200, fmt.Sprintf("%d is not prime\n", n)
	}
	return 404, "not found\n"
}

// MaxPrime bounds /prime so that one request burns at most a few seconds.
const MaxPrime = 1 << 32

// IsPrime tries every divisor from 2 to n-1, as a naive program does; its
// cost grows with n, which is what a CPU-heavy request needs to be.
func IsPrime(n uint64) bool {
	if n < 2 {
		return false
	}
	for d := uint64(2); d < n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// App returns the application as a rawnet handler, naming itself name.
func App(name string) rawnet.Handler {
	return func(r *rawnet.Request) rawnet.Response {
		if r.Method != "GET" && r.Method != "HEAD" {
			resp := rawnet.Text(405, "method not allowed\n")
			resp.Header = append(resp.Header, rawnet.Field{Name: "Allow", Value: "GET, HEAD"})
			return resp
		}
		st, body := answer(name, r.Path(), r.Query)
		return rawnet.Text(st, body)
	}
}

// AppHTTP returns the same application as a net/http handler.
func AppHTTP(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" && r.Method != "HEAD" {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", 405)
			return
		}
		st, body := answer(name, r.URL.Path, r.URL.Query().Get)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(st)
		w.Write([]byte(body))
	})
}

// PrimeTime measures how long IsPrime(n) takes here, now.
func PrimeTime(n uint64) time.Duration {
	start := time.Now()
	IsPrime(n)
	return time.Since(start)
}
