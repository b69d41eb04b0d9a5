package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"backend-protocols/01-patterns/pubsub/resp"
	"backend-protocols/internal/timeline"
)

type queueResult struct {
	Consumer1, Acked1 []int // numbers consumer 1 got and acknowledged
	Consumer2, Acked2 []int // consumer 2, after consumer 1 died
	Restarted         []int // what was delivered after the broker restart
	BeforeKill        [2]int64
	AfterRestart      [2]int64 // QLEN: ready, unacknowledged
	LogBytes          [2]int64 // the log's size before the kill and after the restart
}

// jobClient is a connection to the broker's work queue.
type jobClient struct {
	name string
	conn *resp.Conn
	tl   *timeline.Timeline
}

func dialJobs(ctx context.Context, tl *timeline.Timeline, addr, name string) (*jobClient, error) {
	c, err := resp.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	return &jobClient{name: name, conn: c, tl: tl}, nil
}

// get takes the next job, waiting up to 200 ms; ok is false if none came.
func (j *jobClient) get() (id int64, number int, ok bool, err error) {
	v, err := j.conn.Do("QGET", "jobs", "200")
	if err != nil || v.IsNull {
		return 0, 0, false, err
	}
	if len(v.Elems) != 3 {
		return 0, 0, false, fmt.Errorf("QGET: got %v", v)
	}
	var body struct{ Number int }
	if err := json.Unmarshal([]byte(v.Elems[2].Str), &body); err != nil {
		return 0, 0, false, err
	}
	j.tl.Send("broker", j.name, "job %d %s", v.Elems[1].Int, v.Elems[2].Str)
	return v.Elems[1].Int, body.Number, true, nil
}

// each takes jobs until none comes, calling f for each.
func (j *jobClient) each(f func(id int64, number int) error) error {
	for {
		id, n, ok, err := j.get()
		if err != nil || !ok {
			return err
		}
		if err := f(id, n); err != nil {
			return err
		}
	}
}

func (j *jobClient) ack(id int64, number int) error {
	v, err := j.conn.Do("QACK", "jobs", fmt.Sprint(id))
	if err == nil && v.Int != 1 {
		err = fmt.Errorf("QACK %d: got %v", id, v)
	}
	if err == nil {
		j.tl.Send(j.name, "broker", "QACK jobs %d (number %d)", id, number)
	}
	return err
}

func (j *jobClient) qlen() ([2]int64, error) {
	v, err := j.conn.Do("QLEN", "jobs")
	if err != nil {
		return [2]int64{}, err
	}
	if len(v.Elems) != 2 {
		return [2]int64{}, fmt.Errorf("QLEN: got %v", v)
	}
	return [2]int64{v.Elems[0].Int, v.Elems[1].Int}, nil
}

// waitLen asks QLEN until it matches want: the broker returns a dead
// consumer's jobs as soon as it notices the connection is gone.
func (j *jobClient) waitLen(want [2]int64) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := j.qlen()
		if err != nil || got == want {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("QLEN jobs: got %v, want %v", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// workQueue replays the course's RabbitMQ run against a broker process,
// then kills the broker and restarts it from its log.
func workQueue(ctx context.Context, tl *timeline.Timeline, logPath string) (queueResult, error) {
	var res queueResult
	tl.Printf("")
	tl.Printf("== a work queue: each job to one consumer, kept until acknowledged, logged with fsync")
	b, err := startBroker(ctx, logPath)
	if err != nil {
		return res, err
	}
	defer func() { b.Kill() }()
	tl.Note("broker", "process %d on %s, log %s", b.Cmd.Process.Pid, b.Addr, logPath)

	pub, err := dialJobs(ctx, tl, b.Addr, "publisher")
	if err != nil {
		return res, err
	}
	for n := 1; n <= 10; n++ {
		body := fmt.Sprintf(`{"number": %d}`, n)
		if _, err := pub.conn.Do("QPUSH", "jobs", body); err != nil {
			return res, err
		}
	}
	tl.Send("publisher", "broker", `QPUSH jobs {"number": 1} ... {"number": 10}`)

	c1, err := dialJobs(ctx, tl, b.Addr, "consumer1")
	if err != nil {
		return res, err
	}
	err = c1.each(func(id int64, n int) error {
		res.Consumer1 = append(res.Consumer1, n)
		if n != 7 {
			return nil
		}
		res.Acked1 = append(res.Acked1, n)
		return c1.ack(id, n)
	})
	if err != nil {
		return res, err
	}
	tl.Note("consumer1", "acknowledged only job 7, and dies")
	c1.conn.Close()
	if err := pub.waitLen([2]int64{9, 0}); err != nil {
		return res, err
	}
	tl.Note("publisher", "QLEN jobs: 9 ready, 0 unacknowledged")

	c2, err := dialJobs(ctx, tl, b.Addr, "consumer2")
	if err != nil {
		return res, err
	}
	err = c2.each(func(id int64, n int) error {
		res.Consumer2 = append(res.Consumer2, n)
		if len(res.Acked2) == 4 {
			return nil // holds the rest, unacknowledged
		}
		res.Acked2 = append(res.Acked2, n)
		return c2.ack(id, n)
	})
	if err != nil {
		return res, err
	}
	if res.BeforeKill, err = pub.qlen(); err != nil {
		return res, err
	}
	res.LogBytes[0] = fileSize(logPath)
	tl.Note("publisher", "QLEN jobs: %d ready, %d unacknowledged (consumer2 holds them)",
		res.BeforeKill[0], res.BeforeKill[1])

	tl.Note("broker", "killed with SIGKILL: no shutdown, no flush")
	b.Kill()
	pub.conn.Close()
	c2.conn.Close()
	if b, err = startBroker(ctx, logPath); err != nil {
		return res, err
	}
	res.LogBytes[1] = fileSize(logPath)
	tl.Note("broker", "restarted as process %d from the log (%d bytes, compacted to %d)",
		b.Cmd.Process.Pid, res.LogBytes[0], res.LogBytes[1])
	pub, err = dialJobs(ctx, tl, b.Addr, "publisher")
	if err != nil {
		return res, err
	}
	defer pub.conn.Close()
	if res.AfterRestart, err = pub.qlen(); err != nil {
		return res, err
	}
	tl.Note("publisher", "QLEN jobs: %d ready, %d unacknowledged: nothing unacknowledged was lost",
		res.AfterRestart[0], res.AfterRestart[1])
	c3, err := dialJobs(ctx, tl, b.Addr, "consumer3")
	if err != nil {
		return res, err
	}
	defer c3.conn.Close()
	err = c3.each(func(id int64, n int) error {
		res.Restarted = append(res.Restarted, n)
		return c3.ack(id, n)
	})
	if err != nil {
		return res, err
	}
	left, err := pub.qlen()
	if err != nil {
		return res, err
	}
	tl.Note("publisher", "QLEN jobs: %d ready, %d unacknowledged", left[0], left[1])
	return res, nil
}
