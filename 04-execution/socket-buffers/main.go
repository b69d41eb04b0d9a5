// Socket buffers: a sender writes to a reader that has stopped reading.
// The reader's receive queue fills, its window closes, the sender's send
// queue fills, and the sender's write is refused (EAGAIN) or, on a
// blocking socket, sleeps; the reader drains and everything moves again.
//
//	go run ./04-execution/socket-buffers
//
// The queue sizes are the kernel's own: SIOCINQ on the reader, SIOCOUTQ
// on the sender, the advertised window from TCP_INFO, and the zero-window
// counter from /proc/net/netstat. Look for the bytes written equalling the
// two queues added up, a window of 0, a blocking write that returns only
// when the reader reads, and a table of how SO_SNDBUF and SO_RCVBUF move
// the numbers.
package main

import (
	"time"

	"backend-protocols/internal/demo"
)

func main() {
	cfg := config{Buf: 64 << 10, Chunk: 16 << 10, Hold: 100 * time.Millisecond,
		Sizes: []int{8 << 10, 64 << 10, 512 << 10, 0}}
	p := demo.New("socket-buffers",
		"Socket buffers: the receive queue, the send queue and a closing window.",
		demo.Modes{
			Scenario: cfg.run,
		})
	p.Flags.IntVar(&cfg.Buf, "buf", cfg.Buf, "SO_SNDBUF and SO_RCVBUF to ask for")
	p.Flags.IntVar(&cfg.Chunk, "chunk", cfg.Chunk, "bytes per write")
	p.Main()
}

type config struct {
	Buf   int           // SO_SNDBUF and SO_RCVBUF
	Chunk int           // bytes per write
	Hold  time.Duration // how long the reader lets a blocking write wait
	Sizes []int         // buffer sizes for the table (0: autotuned)
}
