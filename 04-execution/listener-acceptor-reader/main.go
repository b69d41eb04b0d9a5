// Listener, acceptor, reader: the three jobs of a TCP server, done with
// the system calls themselves and printed one by one with their file
// descriptors.
//
//	go run ./04-execution/listener-acceptor-reader
//
// The listener thread makes the listening socket (socket, bind, listen);
// the kernel then completes a client's handshake on its own and queues
// the connection: watch the accept queue go to 1 before anyone calls
// accept. The acceptor thread's accept4 takes it off the queue as a new
// descriptor, and the reader thread reads the request from it (SIOCINQ
// shows the bytes waiting in the kernel first), answers and closes. The
// thread ids show three threads; Lecture 41 onwards puts the jobs on
// threads in different ways. Serve real clients, each connection read by
// its own thread:
//
//	go run ./04-execution/listener-acceptor-reader -serve 127.0.0.1:8080
//	curl http://127.0.0.1:8080/
package main

import (
	"context"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	p := demo.New("listener-acceptor-reader",
		"Listener, acceptor, reader: a TCP server's three jobs on raw system calls.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl)
				return err
			},
			Serve: serve,
		})
	p.Main()
}
