package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"backend-protocols/01-patterns/pubsub/resp"
)

// The work queue commands (not Redis commands; this broker's own):
//
//	QPUSH <queue> <payload>     -> :<job id>, once the job is on disk
//	QGET  <queue> <timeout-ms>  -> *3 [$queue :id $payload], or *-1 after the
//	                               timeout (1 to 60000 ms). The job is now
//	                               this connection's until it acks it.
//	QACK  <queue> <id>          -> :1, once the ack is on disk; :0 if the job
//	                               is not this connection's to ack
//	QNACK <queue> <id>          -> :1, the job goes back to the front
//	QLEN  <queue>               -> *2 [:ready :unacked]
//
// A job goes to exactly one consumer. When a consumer's connection ends,
// its unacknowledged jobs go back to the front of their queue, in id order,
// and are delivered again.

const maxWait = time.Minute

type job struct {
	id      uint64
	payload string
}

type waiter struct {
	c  *client
	ch chan job // receives the job handed to this waiter
}

type queue struct {
	ready   []job
	unacked map[uint64]*held
	waiters []*waiter
}

type held struct {
	job
	owner *client
}

// queues holds every named queue and the log that makes them durable.
type queues struct {
	mu     sync.Mutex
	log    *wal // nil: in memory only
	nextID uint64
	q      map[string]*queue
}

func newQueues(logPath string) (*queues, error) {
	qs := &queues{nextID: 1, q: map[string]*queue{}}
	if logPath == "" {
		return qs, nil
	}
	log, live, err := openLog(logPath)
	if err != nil {
		return nil, err
	}
	qs.log = log
	for _, j := range live {
		qs.get(j.queue).ready = append(qs.get(j.queue).ready, job{j.id, j.payload})
		qs.nextID = max(qs.nextID, j.id+1)
	}
	return qs, nil
}

func (qs *queues) close() error {
	if qs.log == nil {
		return nil
	}
	return qs.log.close()
}

func (qs *queues) get(name string) *queue {
	q := qs.q[name]
	if q == nil {
		q = &queue{unacked: map[uint64]*held{}}
		qs.q[name] = q
	}
	return q
}

// hand gives a job to the first waiting consumer, or leaves it ready;
// called with qs.mu held. front puts a returned job before the others.
func (qs *queues) hand(q *queue, j job, front bool) {
	for len(q.waiters) > 0 {
		w := q.waiters[0]
		q.waiters = q.waiters[1:]
		if w.c.ctx.Err() != nil {
			continue // that consumer is gone
		}
		q.unacked[j.id] = &held{j, w.c}
		w.ch <- j
		return
	}
	if front {
		q.ready = append([]job{j}, q.ready...)
	} else {
		q.ready = append(q.ready, j)
	}
}

// release returns every job the client holds to its queue, and reports
// how many.
func (qs *queues) release(c *client) int {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	n := 0
	for _, q := range qs.q {
		var back []job
		for id, h := range q.unacked {
			if h.owner == c {
				back = append(back, h.job)
				delete(q.unacked, id)
			}
		}
		// Highest id first, each to the front: the queue keeps id order.
		slices.SortFunc(back, func(a, b job) int { return cmp.Compare(b.id, a.id) })
		for _, j := range back {
			qs.hand(q, j, true)
		}
		n += len(back)
		q.waiters = slices.DeleteFunc(q.waiters, func(w *waiter) bool { return w.c == c })
	}
	return n
}

func checkQueue(name string) error {
	if name == "" || len(name) > maxQueueName {
		return fmt.Errorf("ERR queue name must be 1 to %d bytes", maxQueueName)
	}
	return nil
}

func (c *client) qpush(args []string) bool {
	name, payload := args[1], args[2]
	if err := checkQueue(name); err != nil {
		c.send(resp.AppendError(nil, err.Error()))
		return false
	}
	qs := c.b.queues
	qs.mu.Lock()
	id := qs.nextID
	if qs.log != nil {
		if err := qs.log.append(record{op: opPush, id: id, queue: name, payload: payload}); err != nil {
			qs.mu.Unlock()
			c.send(resp.AppendError(nil, "ERR queue log: "+err.Error()))
			return false
		}
	}
	qs.nextID++
	qs.hand(qs.get(name), job{id, payload}, false)
	qs.mu.Unlock()
	c.send(resp.AppendInt(nil, int64(id)))
	return false
}

func (c *client) qget(args []string) bool {
	name := args[1]
	ms, err := strconv.Atoi(args[2])
	wait := time.Duration(ms) * time.Millisecond
	if err != nil || ms < 1 || wait > maxWait {
		c.send(resp.AppendError(nil, fmt.Sprintf("ERR timeout must be 1 to %d ms", maxWait.Milliseconds())))
		return false
	}
	if err := checkQueue(name); err != nil {
		c.send(resp.AppendError(nil, err.Error()))
		return false
	}
	qs := c.b.queues
	qs.mu.Lock()
	q := qs.get(name)
	if len(q.ready) > 0 {
		j := q.ready[0]
		q.ready = q.ready[1:]
		q.unacked[j.id] = &held{j, c}
		qs.mu.Unlock()
		c.sendJob(name, j)
		return false
	}
	w := &waiter{c: c, ch: make(chan job, 1)}
	q.waiters = append(q.waiters, w)
	qs.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case j := <-w.ch:
		c.sendJob(name, j)
		return false
	case <-t.C:
	case <-c.ctx.Done():
	}
	qs.mu.Lock()
	q.waiters = slices.DeleteFunc(q.waiters, func(x *waiter) bool { return x == w })
	qs.mu.Unlock()
	select {
	case j := <-w.ch: // handed over just as the wait ended
		c.sendJob(name, j)
	default:
		c.send(resp.AppendNullArray(nil))
	}
	return false
}

func (c *client) sendJob(name string, j job) {
	b := resp.AppendArray(nil, 3)
	b = resp.AppendBulk(b, name)
	b = resp.AppendInt(b, int64(j.id))
	c.send(resp.AppendBulk(b, j.payload))
}

// settle removes a job this client holds: acknowledged (logged) or
// returned to the queue.
func (c *client) settle(args []string, ack bool) bool {
	name := args[1]
	id, err := strconv.ParseUint(args[2], 10, 64)
	if err != nil {
		c.send(resp.AppendError(nil, "ERR job id must be a number"))
		return false
	}
	qs := c.b.queues
	qs.mu.Lock()
	q := qs.q[name]
	var h *held
	if q != nil {
		h = q.unacked[id]
	}
	if h == nil || h.owner != c {
		qs.mu.Unlock()
		c.send(resp.AppendInt(nil, 0))
		return false
	}
	if ack && qs.log != nil {
		if err := qs.log.append(record{op: opAck, id: id, queue: name}); err != nil {
			qs.mu.Unlock()
			c.send(resp.AppendError(nil, "ERR queue log: "+err.Error()))
			return false
		}
	}
	delete(q.unacked, id)
	if !ack {
		qs.hand(q, h.job, true)
	}
	qs.mu.Unlock()
	c.send(resp.AppendInt(nil, 1))
	return false
}

func (c *client) qack(args []string) bool  { return c.settle(args, true) }
func (c *client) qnack(args []string) bool { return c.settle(args, false) }

func (c *client) qlen(args []string) bool {
	qs := c.b.queues
	qs.mu.Lock()
	var ready, unacked int
	if q := qs.q[args[1]]; q != nil {
		ready, unacked = len(q.ready), len(q.unacked)
	}
	qs.mu.Unlock()
	b := resp.AppendArray(nil, 2)
	b = resp.AppendInt(b, int64(ready))
	c.send(resp.AppendInt(b, int64(unacked)))
	return false
}
