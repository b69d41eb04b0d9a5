package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// The line protocol: one request per line, one response line per request.
//
//	SUM <a> <b>   ->  OK <a+b>
//	PING          ->  PONG
//	QUIT          ->  BYE, then the server closes
//	anything else ->  ERR <reason>
//
// A line longer than maxLine bytes gets "ERR line too long" and a closed
// connection: the server never buffers without bound.
const maxLine = 1024

// idleTimeout closes connections that send nothing for this long.
const idleTimeout = 30 * time.Second

// exampleLines is what the scenario and -connect send.
var exampleLines = []string{"SUM 2 3", "PING", "SUM 2", "FETCH x", "QUIT"}

// answer computes the response line to one request line, and whether the
// server should close the connection after sending it.
func answer(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return "ERR empty request", false
	}
	switch strings.ToUpper(f[0]) {
	case "SUM":
		if len(f) != 3 {
			return "ERR usage: SUM <int> <int>", false
		}
		a, err1 := strconv.ParseInt(f[1], 10, 32)
		b, err2 := strconv.ParseInt(f[2], 10, 32)
		if err1 != nil || err2 != nil {
			return "ERR usage: SUM <int> <int>", false
		}
		return "OK " + strconv.FormatInt(a+b, 10), false
	case "PING":
		return "PONG", false
	case "QUIT":
		return "BYE", true
	}
	return fmt.Sprintf("ERR unknown command %q", f[0]), false
}

// serveConn answers requests on one connection until QUIT, EOF, an
// oversized line or the idle timeout.
func serveConn(c net.Conn, tl *timeline.Timeline) {
	defer c.Close()
	r := bufio.NewReaderSize(c, maxLine+2)
	for {
		c.SetReadDeadline(time.Now().Add(idleTimeout))
		line, err := readLine(r)
		if errors.Is(err, errTooLong) {
			io.WriteString(c, "ERR line too long\n")
			tl.Note("server", "%s sent a line over %d bytes: closed", c.RemoteAddr(), maxLine)
			return
		}
		if err != nil {
			return
		}
		resp, quit := answer(line)
		if _, err := io.WriteString(c, resp+"\n"); err != nil || quit {
			return
		}
	}
}

var errTooLong = errors.New("line too long")

// readLine reads one line without its "\n" or "\r\n", refusing lines over
// maxLine bytes.
func readLine(r *bufio.Reader) (string, error) {
	b, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(b) > maxLine+2 {
		return "", errTooLong
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// serveLines runs the line server on ln until ctx is done, then closes
// every connection and waits for their goroutines.
func serveLines(ctx context.Context, ln net.Listener, tl *timeline.Timeline) error {
	return demo.ServeConns(ctx, ln, func(c net.Conn) { serveConn(c, tl) })
}

// lineExchange is one request line and its response, as measured.
type lineExchange struct {
	Request, Response string
	Took              time.Duration
}

// exchangeLines sends each request line on one connection and reads the
// response to each before sending the next.
func exchangeLines(ctx context.Context, tl *timeline.Timeline, addr string,
	lines []string) ([]lineExchange, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r := bufio.NewReader(c)
	var out []lineExchange
	for _, line := range lines {
		start := time.Now()
		tl.Send("client", "server", "%q", line+"\n")
		if _, err := io.WriteString(c, line+"\n"); err != nil {
			return out, err
		}
		resp, err := readLine(r)
		if err != nil {
			return out, fmt.Errorf("response to %q: %w", line, err)
		}
		ex := lineExchange{line, resp, time.Since(start)}
		tl.Send("server", "client", "%q  (%v round trip)", resp+"\n",
			ex.Took.Round(time.Microsecond))
		out = append(out, ex)
	}
	return out, nil
}

// lineScenario runs the line server on loopback and exchanges with it.
func lineScenario(ctx context.Context, tl *timeline.Timeline) ([]lineExchange, error) {
	tl.Printf("== the same pattern over raw TCP: one request line, one response line")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- serveLines(ctx, ln, tl) }()
	defer func() { cancel(); <-done }()
	tl.Note("server", "line protocol on %s", ln.Addr())
	return exchangeLines(ctx, tl, ln.Addr().String(), exampleLines)
}
