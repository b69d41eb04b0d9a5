// Nagle's algorithm: a client sends each message in two small writes (a
// header, then a body) and waits for the answer. With Nagle on, the body
// waits in the client's kernel until the header is acknowledged, and the
// server's kernel delays that acknowledgement, hoping to ride on an answer
// the server cannot send before it has the body: about 40 ms per exchange
// on Linux. TCP_NODELAY removes the wait; one write per message (or
// TCP_CORK around the writes) removes its cause.
//
//	go run ./04-execution/nagle
//
// Look at the milliseconds per exchange in each row, the data segments
// the client sent per exchange (TCP_INFO tcpi_data_segs_out), and the
// server's delayed-ACK timeout (tcpi_ato). Go turns Nagle off by default;
// SetNoDelay(false) turns it back on. Serve the slow peer for your own
// client (nc holds Nagle on):
//
//	go run ./04-execution/nagle -serve 127.0.0.1:8080
package main

import (
	"backend-protocols/internal/demo"
)

func main() {
	cfg := config{Exchanges: 10, Header: 100, Body: 100}
	p := demo.New("nagle",
		"Nagle: write-write-read against delayed ACKs, and three fixes.",
		demo.Modes{
			Scenario: cfg.run,
			Serve:    cfg.serve,
		})
	p.Flags.IntVar(&cfg.Exchanges, "n", cfg.Exchanges, "exchanges per row")
	p.Main()
}

type config struct {
	Exchanges    int
	Header, Body int // bytes of each message's two parts
}
