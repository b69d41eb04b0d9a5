package crowd

import (
	"regexp"
	"sync"
	"testing"
)

// actorLine matches a timeline line in which an actor says where it
// listens: "    +0.3ms  b1                 listening on http://127.0.0.1:4000".
var actorLine = regexp.MustCompile(`^\s*\+[0-9.]+ms\s+(\S+)\s+listening on (?:[a-z]+://)?([0-9.]+:[0-9]+)`)

// StartActors runs bin with args like Start, for a demo whose -serve
// starts several servers (a proxy and its backends), and waits until every
// actor in want has said where it listens. It returns the server, whose
// Addr is the address of want[0], and the address of every actor in want.
func StartActors(t testing.TB, bin string, want []string, args ...string) (*Server, map[string]string) {
	t.Helper()
	var mu sync.Mutex
	addrs := map[string]string{}
	s := launch(t, bin, args, func(line string) (string, bool) {
		m := actorLine.FindStringSubmatch(line)
		if m == nil {
			return "", false
		}
		mu.Lock()
		defer mu.Unlock()
		addrs[m[1]] = m[2]
		for _, w := range want {
			if addrs[w] == "" {
				return "", false
			}
		}
		return addrs[want[0]], true
	})
	mu.Lock()
	defer mu.Unlock()
	out := map[string]string{}
	for _, w := range want {
		out[w] = addrs[w]
	}
	return s, out
}

// Pid returns the server's process id, for reading its CPU time or memory
// from /proc.
func (s *Server) Pid() int { return s.cmd.Process.Pid }
