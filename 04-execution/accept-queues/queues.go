package main

import (
	"fmt"
	"net/netip"
	"time"

	"backend-protocols/04-execution/rawnet"
	"backend-protocols/internal/kernel"
	"backend-protocols/internal/timeline"

	"golang.org/x/sys/unix"
)

// client is one connecting socket and what the kernel says about it.
type client struct {
	FD      int
	Start   time.Time
	Connect time.Duration // until the handshake completed; 0 if it had not
	State   kernel.TCPState
	RTO     time.Duration // the kernel's retransmission timeout for it
	Retrans uint32        // its retransmissions so far (tcpi_total_retrans)
}

// info refreshes c's state from TCP_INFO.
func (c *client) info() error {
	ti, err := kernel.TCPInfo(c.FD)
	if err != nil {
		return err
	}
	c.State = kernel.TCPState(ti.State)
	c.RTO = time.Duration(ti.Rto) * time.Microsecond
	c.Retrans = ti.Total_retrans
	return nil
}

// acceptQueue returns the listener's accept queue length as /proc/net/tcp
// shows it (the rx_queue of its LISTEN line).
func acceptQueue(addr netip.AddrPort) (int, error) {
	q, _, err := kernel.AcceptQueue(addr, 0)
	return q, err
}

// dial starts a non-blocking connect and waits up to wait for it to
// complete. A connect that does not complete in time is left in flight.
func dial(addr string, wait time.Duration) (*client, error) {
	c := &client{Start: time.Now()}
	var err error
	// Four SYN retransmissions at most (a second apart, as
	// net.ipv4.tcp_syn_linear_timeouts has it by default): a client
	// left stalled gives up after seconds instead of two minutes.
	c.FD, err = rawnet.Connect(addr, rawnet.DialConfig{SynCount: 4})
	if err != nil {
		return nil, err
	}
	err = rawnet.WaitConnected(c.FD, wait)
	switch {
	case err == nil:
		c.Connect = time.Since(c.Start)
	case err != rawnet.ErrTimeout:
		unix.Close(c.FD)
		return nil, err
	}
	return c, c.info()
}

// overflow reads the listen overflow counters of the namespace.
func overflow() (overflows, drops int64, err error) {
	m, err := kernel.Netstat()
	if err != nil {
		return 0, 0, err
	}
	return m["TcpExt:ListenOverflows"], m["TcpExt:ListenDrops"], nil
}

func closeAll(cs []*client) {
	for _, c := range cs {
		unix.Close(c.FD)
	}
}

// backlogRun is what a listener with one backlog value did.
type backlogRun struct {
	Backlog    int
	Queued     int // accept queue at its fullest
	AtOnce     int // clients connected at once
	Stalled    []*client
	Overflows  int64 // TcpExt:ListenOverflows rise (whole namespace)
	Drops      int64 // TcpExt:ListenDrops rise
	Late       []time.Duration
	LateRetran []uint32
}

// fill connects backlog+1+extra clients one at a time to a listener that
// does not accept, and reports who got in.
func fill(tl *timeline.Timeline, ln *rawnet.Listener, extra int, wait time.Duration) (backlogRun, []*client, error) {
	run := backlogRun{Backlog: ln.Backlog()}
	o0, d0, err := overflow()
	if err != nil {
		return run, nil, err
	}
	var all []*client
	for i := range ln.Backlog() + 1 + extra {
		c, err := dial(ln.Addr().String(), wait)
		if err != nil {
			closeAll(all)
			return run, nil, err
		}
		all = append(all, c)
		q, err := acceptQueue(ln.Addr())
		if err != nil {
			closeAll(all)
			return run, nil, err
		}
		run.Queued = max(run.Queued, q)
		// At once means without a retransmitted SYN, however slowly
		// this process got round to asking.
		if c.Connect > 0 && c.Retrans == 0 {
			run.AtOnce++
			tl.Note(fmt.Sprintf("client %d", i+1),
				"fd %d %s in %v; accept queue %d", c.FD, c.State,
				c.Connect.Round(time.Microsecond), q)
			continue
		}
		run.Stalled = append(run.Stalled, c)
		tl.Note(fmt.Sprintf("client %d", i+1),
			"fd %d %s, SYN dropped; its next SYN in %v (tcpi_rto); accept queue %d",
			c.FD, c.State, c.RTO, q)
	}
	o1, d1, err := overflow()
	run.Overflows, run.Drops = o1-o0, d1-d0
	return run, all, err
}
