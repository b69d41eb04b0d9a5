// Pub/sub: publishers send to a broker, which fans each message out to
// every subscriber of its channel (topics), or hands each job to exactly
// one of the competing consumers and keeps it until it is acknowledged
// (a work queue).
//
//	go run ./01-patterns/pubsub
//
// The broker speaks the Redis protocol (RESP) for SUBSCRIBE, UNSUBSCRIBE,
// PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PING and QUIT, so redis-cli works
// against it and the demo's client works against a real redis-server. Look
// for: receiver counts from PUBLISH; a subscriber too slow to keep up cut
// off without slowing anyone else; messages per second for 1 and 8
// subscribers; then the course's run of the work queue: jobs 1 to 10, a
// consumer that acknowledges only job 7 and dies, a second consumer that
// gets the rest, and the broker killed with SIGKILL and restarted from its
// log with no unacknowledged job lost.
//
//	go run ./01-patterns/pubsub -serve 127.0.0.1:6380 -log /tmp/queue.log
//	redis-cli -p 6380 SUBSCRIBE news            (in one terminal)
//	redis-cli -p 6380 PSUBSCRIBE 'n*'           (in another)
//	redis-cli -p 6380 PUBLISH news hello        (answers the receiver count)
//	redis-cli -p 6380 QPUSH jobs '{"number": 1}'
//	go run ./01-patterns/pubsub -connect 127.0.0.1:6379   (topics against redis-server)
package main

import (
	"context"
	"os"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	if logPath, ok := os.LookupEnv(childEnv); ok {
		os.Exit(runChild(logPath))
	}
	logPath := ""
	p := demo.New("pubsub",
		"Pub/sub over RESP: topics with fan-out, and a durable work queue with acknowledgements.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				return serveBroker(ctx, addr, logPath, tl)
			},
			Connect: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				_, err := topics(ctx, tl, addr)
				return err
			},
		})
	p.Flags.StringVar(&logPath, "log", "",
		"with -serve, the file that makes the work queues durable (none: in memory)")
	p.Main()
}
