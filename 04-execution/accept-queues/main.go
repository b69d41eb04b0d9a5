// Accept queues: how the kernel holds connections for a server that has
// not accepted them yet, and what happens when the queue is full.
//
//	go run ./04-execution/accept-queues
//
// A listener with a small backlog never calls accept. The kernel finishes
// the handshake for backlog+1 clients on its own: watch the listener's
// accept queue (rx_queue of its LISTEN line in /proc/net/tcp) climb. The
// next clients' SYNs are dropped: they sit in SYN_SENT (TCP_INFO) and the
// kernel's TcpExt:ListenOverflows and ListenDrops (/proc/net/netstat)
// rise. When the acceptor drains the queue, they get in only when their
// SYN is retransmitted, about a second later. A table repeats it for other
// backlogs. As root, a second part shows the SYN queue in a private
// network namespace: half-open connections from a client that never
// answers the SYN-ACK, SYN cookies when it is full, and the handshake
// finishing into the accept queue. Watch a listener that does not accept:
//
//	go run ./04-execution/accept-queues -serve 127.0.0.1:8080 -backlog 2
//	for i in 1 2 3 4; do curl -m 5 http://127.0.0.1:8080/ & done
//	ss -ltn 'sport = :8080'    # Recv-Q is the accept queue, Send-Q the backlog
package main

import (
	"time"

	"backend-protocols/internal/demo"
)

func main() {
	cfg := config{Backlog: 4, Extra: 2, Wait: 100 * time.Millisecond,
		Table: []int{1, 8}, SynFlood: 12}
	p := demo.New("accept-queues",
		"Accept queues: backlog, the accept queue, the SYN queue, and overflow.",
		demo.Modes{
			Scenario: cfg.run,
			Serve:    cfg.serve,
		})
	p.Flags.IntVar(&cfg.Backlog, "backlog", cfg.Backlog, "listen(2) backlog")
	p.Flags.IntVar(&cfg.Extra, "extra", cfg.Extra, "clients beyond backlog+1")
	p.Main()
}

type config struct {
	Backlog  int
	Extra    int           // clients beyond backlog+1
	Wait     time.Duration // how long a connect may take to count as at once
	Table    []int         // other backlogs for the table
	SynFlood int           // half-open connections in the SYN queue part
}
