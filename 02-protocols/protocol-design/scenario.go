package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"backend-protocols/02-protocols/protocol-design/kv"
	"backend-protocols/internal/timeline"
)

// result is what the scenario measured, for the tests.
type result struct {
	Sizes []sizeRow
	Speed []speedRow
	Reads []int // bytes each Read returned while one frame arrived
	Needs []int // what Decode said the frame needs, after each Read

	Sent, Answered []string // keys, in the order sent and answered
	Matched        bool     // every reply carried its own key's value

	V1OnV2    kv.Message // a v1 request to the v2 server
	TTLLived  time.Duration
	Refused   kv.Message // a v2 request to the v1 server
	Fallback  kv.Message // the same, downgraded to v1
	Future    kv.Message // the v2 server's answer to a v3 frame
	NextAfter kv.Message // the next request on that connection

	TextReply string // the JSON line the server sent back
	BadLine   kv.Message
}

type sizeRow struct {
	Name         string
	Binary, Text int
}

type speedRow struct {
	Op           string
	Binary, Text time.Duration // per message
}

// ioTimeout bounds every raw read and write of the scenario.
const ioTimeout = 5 * time.Second

func scenario(ctx context.Context, tl *timeline.Timeline, cold time.Duration) (*result, error) {
	res := &result{}
	if err := sizesAndSpeed(tl, res); err != nil {
		return res, err
	}
	if err := partialRead(tl, res); err != nil {
		return res, fmt.Errorf("partial read: %w", err)
	}
	st := newStore(cold)
	srv, err := startServer("127.0.0.1:0", "server", kv.MaxVersion, st, tl)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	old, err := startServer("127.0.0.1:0", "v1-server", kv.Version1, newStore(cold), tl)
	if err != nil {
		return res, err
	}
	defer old.Close()
	tl.Printf("")
	tl.Note("server", "kv on %s, speaks v1 and v2, binary or JSON lines", srv.Addr())
	tl.Note("v1-server", "kv on %s, speaks v1 only", old.Addr())
	return res, clientSteps(ctx, tl, srv.Addr(), old.Addr(), res)
}

// samples are the messages both encodings carry.
var samples = []struct {
	name string
	m    kv.Message
}{
	{"GET user:42", kv.Message{Version: 1, Type: kv.Get, ID: 1, Key: "user:42"}},
	{"SET user:42 (21-byte value)", kv.Message{Version: 1, Type: kv.Set, ID: 2,
		Key: "user:42", Value: []byte("Ada Lovelace, analyst")}},
	{"reply with the value", kv.Message{Version: 1, Type: kv.Get.Reply(), ID: 1,
		Value: []byte("Ada Lovelace, analyst")}},
	{"reply: not found", kv.Message{Version: 1, Type: kv.Get.Reply(), ID: 3,
		Status: kv.StatusNotFound}},
	{"SET with a 1 KiB value", kv.Message{Version: 1, Type: kv.Set, ID: 4,
		Key: "blob", Value: []byte(strings.Repeat("x", 1024))}},
}

// nsPerOp times f, repeating it until a run takes at least 20ms.
func nsPerOp(f func() error) (time.Duration, error) {
	for n := 1; ; n *= 4 {
		start := time.Now()
		for range n {
			if err := f(); err != nil {
				return 0, err
			}
		}
		if d := time.Since(start); d >= 20*time.Millisecond || n >= 1<<22 {
			return d / time.Duration(n), nil
		}
	}
}

func sizesAndSpeed(tl *timeline.Timeline, res *result) error {
	bins := make([][]byte, len(samples))
	lines := make([][]byte, len(samples))
	for i, s := range samples {
		var err error
		if bins[i], err = s.m.MarshalBinary(); err != nil {
			return err
		}
		if lines[i], err = s.m.AppendJSON(nil); err != nil {
			return err
		}
		res.Sizes = append(res.Sizes, sizeRow{s.name, len(bins[i]), len(lines[i])})
	}
	tl.Printf("== the same message, two encodings ==")
	tl.Printf("binary frame of %s: % x", samples[1].name, bins[1])
	tl.Dump("JSON line of "+samples[1].name, lines[1])
	tl.Printf("")
	tl.Printf("%-30s %8s %8s", "bytes on the wire", "binary", "JSON")
	for _, r := range res.Sizes {
		tl.Printf("%-30s %8d %8d", r.Name, r.Binary, r.Text)
	}

	buf := make([]byte, 0, 4096)
	encBin := func() error {
		for i := range samples {
			if _, err := samples[i].m.AppendBinary(buf[:0]); err != nil {
				return err
			}
		}
		return nil
	}
	encText := func() error {
		for i := range samples {
			if _, err := samples[i].m.AppendJSON(buf[:0]); err != nil {
				return err
			}
		}
		return nil
	}
	decBin := func() error {
		for _, b := range bins {
			if _, _, err := kv.Decode(b); err != nil {
				return err
			}
		}
		return nil
	}
	decText := func() error {
		for _, l := range lines {
			if _, err := kv.DecodeJSON(l); err != nil {
				return err
			}
		}
		return nil
	}
	n := time.Duration(len(samples))
	for _, op := range []struct {
		name      string
		bin, text func() error
	}{{"encode", encBin, encText}, {"decode", decBin, decText}} {
		b, err := nsPerOp(op.bin)
		if err != nil {
			return err
		}
		t, err := nsPerOp(op.text)
		if err != nil {
			return err
		}
		res.Speed = append(res.Speed, speedRow{op.name, b / n, t / n})
	}
	tl.Printf("")
	tl.Printf("%-30s %8s %8s", "time per message (this run)", "binary", "JSON")
	for _, r := range res.Speed {
		tl.Printf("%-30s %8s %8s   (%.0fx)", r.Op, ns(r.Binary), ns(r.Text),
			float64(r.Text)/float64(max(r.Binary, 1)))
	}
	tl.Printf("(careful numbers: go test -bench . ./02-protocols/protocol-design/kv)")
	return nil
}

func ns(d time.Duration) string { return fmt.Sprintf("%dns", d.Nanoseconds()) }

// partialRead sends one frame over TCP in three writes and decodes on
// every read: the length prefix tells the reader how long to wait.
func partialRead(tl *timeline.Timeline, res *result) error {
	tl.Printf("")
	tl.Printf("== a frame arriving in pieces (TCP is a byte stream) ==")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	w, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer w.Close()
	r, err := ln.Accept()
	if err != nil {
		return err
	}
	defer r.Close()
	r.SetDeadline(time.Now().Add(ioTimeout))
	m := kv.Message{Version: 1, Type: kv.Set, ID: 42, Key: "user:42",
		Value: []byte("Ada Lovelace, analyst")}
	frame, _ := m.MarshalBinary()
	cuts := []int{0, 5, 14, len(frame)}
	acked := make(chan struct{})
	werr := make(chan error, 1)
	go func() {
		for i := 1; i < len(cuts); i++ {
			if _, err := w.Write(frame[cuts[i-1]:cuts[i]]); err != nil {
				werr <- err
				return
			}
			if i == len(cuts)-1 {
				break
			}
			if _, ok := <-acked; !ok {
				break
			}
		}
		werr <- nil
	}()
	defer close(acked)
	tl.Note("sender", "writes a %d-byte SET frame as %d, %d and %d bytes",
		len(frame), cuts[1], cuts[2]-cuts[1], cuts[3]-cuts[2])
	var got []byte
	tmp := make([]byte, 1024)
	for {
		n, err := r.Read(tmp)
		if err != nil {
			return err
		}
		got = append(got, tmp[:n]...)
		res.Reads = append(res.Reads, n)
		msg, need, err := kv.Decode(got)
		res.Needs = append(res.Needs, need)
		if errors.Is(err, kv.ErrShort) {
			what := "the header"
			if len(got) >= kv.HeaderLen {
				what = "the frame, as its length says,"
			}
			tl.Note("receiver", "read %d: %2d bytes, %2d so far; %s needs %d: wait",
				len(res.Reads), n, len(got), what, need)
			acked <- struct{}{}
			continue
		}
		if err != nil {
			return err
		}
		tl.Note("receiver", "read %d: %2d bytes, %2d so far; whole frame: %v",
			len(res.Reads), n, len(got), msg)
		break
	}
	if err := <-werr; err != nil {
		return err
	}
	tl.Note("receiver", "treating each read as a message would have failed %d times",
		len(res.Reads)-1)
	return nil
}

// clientSteps drives a kv server at addr (and a v1-only one at v1addr, if
// given): pipelined requests answered out of order, versions, the text twin.
func clientSteps(ctx context.Context, tl *timeline.Timeline, addr, v1addr string,
	res *result) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	c := kv.NewClient(kv.NewBinaryCodec(conn, conn), conn)
	defer c.Close()
	if err := outOfOrder(ctx, tl, c, res); err != nil {
		return fmt.Errorf("pipelining: %w", err)
	}
	if err := versions(ctx, tl, c, addr, v1addr, res); err != nil {
		return fmt.Errorf("versions: %w", err)
	}
	if err := textTwin(tl, addr, res); err != nil {
		return fmt.Errorf("text twin: %w", err)
	}
	return nil
}

func outOfOrder(ctx context.Context, tl *timeline.Timeline, c *kv.Client, res *result) error {
	tl.Printf("")
	tl.Printf(`== pipelining: three requests on one connection; "cold:" keys are slow ==`)
	keys := []string{"cold:report", "user:1", "user:2"}
	for _, k := range keys {
		rep, err := c.Do(ctx, kv.Message{Version: 1, Type: kv.Set, Key: k,
			Value: []byte("value of " + k)})
		if err != nil || rep.Status != kv.StatusOK {
			return fmt.Errorf("set %s: %v %v", k, rep, err)
		}
	}
	// Send all three before waiting for any reply.
	calls := make([]*kv.Call, len(keys))
	for i, k := range keys {
		call, err := c.Send(ctx, kv.Message{Version: 1, Type: kv.Get, Key: k})
		if err != nil {
			return err
		}
		calls[i] = call
		res.Sent = append(res.Sent, k)
		tl.Send("client", "server", "GET %s id=%d", k, call.Req.ID)
	}
	type answer struct {
		key string
		rep kv.Message
		err error
	}
	answers := make(chan answer, len(keys))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Go(func() {
			rep, err := call.Wait(ctx)
			answers <- answer{keys[i], rep, err}
		})
	}
	wg.Wait()
	close(answers)
	res.Matched = true
	for a := range answers {
		if a.err != nil {
			return a.err
		}
		res.Answered = append(res.Answered, a.key)
		ok := string(a.rep.Value) == "value of "+a.key
		res.Matched = res.Matched && ok
		tl.Send("server", "client", "reply id=%d %q, for GET %s: %v",
			a.rep.ID, a.rep.Value, a.key, ok)
	}
	tl.Note("client", "sent %v, answered %v: replies came back out of order",
		res.Sent, res.Answered)
	return nil
}

func versions(ctx context.Context, tl *timeline.Timeline, c *kv.Client,
	addr, v1addr string, res *result) error {
	tl.Printf("")
	tl.Printf("== a version bump: v2 adds a TTL to SET ==")
	var err error
	res.V1OnV2, err = c.Do(ctx, kv.Message{Version: 1, Type: kv.Get, Key: "user:1"})
	if err != nil {
		return err
	}
	tl.Note("client", "v1 GET to the v2 server: %v (answered in v1)", res.V1OnV2)

	const ttl = 30 * time.Millisecond
	set := kv.Message{Version: 2, Type: kv.Set, Key: "session:9", TTL: ttl,
		Value: []byte("token")}
	rep, err := c.Do(ctx, set)
	if err != nil {
		return err
	}
	if rep.Status != kv.StatusOK {
		return fmt.Errorf("v2 set: got %v", rep)
	}
	setAt := time.Now()
	tl.Note("client", "v2 SET session:9 ttl=%v: %v", ttl, rep.Status)
	for {
		rep, err := c.Do(ctx, kv.Message{Version: 2, Type: kv.Get, Key: "session:9"})
		if err != nil {
			return err
		}
		if rep.Status == kv.StatusNotFound {
			res.TTLLived = time.Since(setAt)
			tl.Note("client", "v2 GET session:9: not found %s after the SET",
				timeline.Ms(res.TTLLived))
			break
		}
		if time.Since(setAt) > 100*ttl {
			return fmt.Errorf("session:9 still there after %v", time.Since(setAt))
		}
		time.Sleep(ttl / 3) // polling a store's clock, not waiting on a server
	}

	if v1addr != "" {
		conn, err := net.Dial("tcp", v1addr)
		if err != nil {
			return err
		}
		old := kv.NewClient(kv.NewBinaryCodec(conn, conn), conn)
		defer old.Close()
		tl.Send("client", "v1-server", "v2 SET session:9 ttl=%v", ttl)
		res.Refused, err = old.Do(ctx, set)
		if err != nil {
			return err
		}
		tl.Send("v1-server", "client", "%v", res.Refused)
		if res.Refused.Status == kv.StatusUnsupportedVersion {
			down := set
			down.Version, down.TTL = res.Refused.Version, 0
			res.Fallback, err = old.Do(ctx, down)
			if err != nil {
				return err
			}
			tl.Note("client", "falls back to v%d, without the TTL: %v",
				down.Version, res.Fallback.Status)
		}
	}

	// A frame from a future version, written by hand: the server cannot
	// read its body but its header says where the frame ends.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(ioTimeout))
	future := []byte{3, byte(kv.Set), 0, 0, 0, 0, 0, 77, 0, 0, 0, 9,
		0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xba, 0xbe, 0x00}
	next := kv.Message{Version: 2, Type: kv.Get, ID: 78, Key: "user:2"}
	frames, _ := next.AppendBinary(append([]byte(nil), future...))
	if _, err := conn.Write(frames); err != nil {
		return err
	}
	tl.Send("client", "server", "v3 frame id=77, 9-byte body of unknown layout, then v2 GET id=78")
	codec := kv.NewBinaryCodec(conn, conn)
	if res.Future, err = codec.ReadMessage(); err != nil {
		return err
	}
	if res.NextAfter, err = codec.ReadMessage(); err != nil {
		return err
	}
	tl.Send("server", "client", "%v", res.Future)
	tl.Send("server", "client", "%v (same connection: framing survived)", res.NextAfter)
	return nil
}

func textTwin(tl *timeline.Timeline, addr string, res *result) error {
	tl.Printf("")
	tl.Printf("== the text twin on the same port: one JSON object per line ==")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(ioTimeout))
	r := bufio.NewReader(conn)
	ask := func(line string) (string, error) {
		tl.Send("client", "server", "%s", line)
		if _, err := conn.Write([]byte(line + "\n")); err != nil {
			return "", err
		}
		got, err := r.ReadString('\n')
		got = strings.TrimSuffix(got, "\n")
		if err == nil {
			tl.Send("server", "client", "%s", got)
		}
		return got, err
	}
	res.TextReply, err = ask(`{"v":1,"type":"get","id":1,"key":"user:1"}`)
	if err != nil {
		return err
	}
	bad, err := ask(`{"v":1,"type":"get","id":2,"key":"user:1","colour":"red"}`)
	if err != nil {
		return err
	}
	if res.BadLine, err = kv.DecodeJSON([]byte(bad)); err != nil {
		return err
	}
	tl.Note("client", "a field the server does not know is refused, not ignored")
	return nil
}
