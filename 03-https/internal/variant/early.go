package variant

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/tls13-0rtt/earlytls"
)

// EarlyServer is an HTTPS server that takes TLS 1.3 early data over TCP
// (the earlytls engine) with net/http: it answers a safe request (GET,
// HEAD, OPTIONS) that arrived as early data at once, and any other 425 Too
// Early (RFC 8470), since an attacker may have replayed it.
type EarlyServer struct {
	httpServer
	Addr  string
	Guard *earlytls.TicketGuard // nil: replays are accepted

	lab *lab.Lab

	mu    sync.Mutex
	stats EarlyStats
}

// EarlyStats counts what an EarlyServer's handler saw.
type EarlyStats struct {
	Early    int // requests served from early data
	TooEarly int // requests in early data answered 425
	Late     int // requests after the handshake
	// Held counts the requests from early data (of Early and TooEarly)
	// that reached the handler only once the handshake had completed:
	// the server took the 0-RTT data but did not answer at 0.5-RTT.
	Held int
}

type connKey struct{}

// withConn keeps each request's connection in its context, so that a
// handler can ask an earlytls.Conn whether the request came early.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// StartEarly starts an EarlyServer on the lab's server host, with TCP Fast
// Open on its listener where the lab can turn it on, and with a ticket
// guard if guard is set.
func StartEarly(l *lab.Lab, guard bool) (*EarlyServer, error) {
	cfg, err := serverConfig(l, 0, 0)
	if err != nil {
		return nil, err
	}
	var sockopts []lab.SockOpt
	if l.Emulated() {
		if err := l.Sysctl("net.ipv4.tcp_fastopen", "3"); err != nil {
			return nil, err
		}
		sockopts = append(sockopts, fastOpenListen)
	}
	ln, addr, err := l.ListenTCP(sockopts...)
	if err != nil {
		return nil, err
	}
	s := &EarlyServer{Addr: addr, lab: l}
	if guard {
		s.Guard = &earlytls.TicketGuard{}
	}
	ecfg := &earlytls.Config{TLS: cfg, EarlyData: true, Guard: s.Guard}
	s.serve(&http.Server{Handler: http.HandlerFunc(s.handle),
		ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog(),
		ConnContext: withConn}, earlytls.NewListener(ln, ecfg))
	return s, nil
}

// safe reports whether a method is safe to run twice (RFC 9110 Section
// 9.2.1), and so to take from early data.
func safe(method string) bool {
	return method == http.MethodGet || method == http.MethodHead ||
		method == http.MethodOptions
}

func (s *EarlyServer) handle(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Context().Value(connKey{}).(*earlytls.Conn)
	early := c != nil && c.InEarlyData()
	s.mu.Lock()
	switch {
	case early && !safe(r.Method):
		s.stats.TooEarly++
	case early:
		s.stats.Early++
	default:
		s.stats.Late++
	}
	s.mu.Unlock()
	if early && !safe(r.Method) {
		w.WriteHeader(http.StatusTooEarly)
		return
	}
	io.Copy(io.Discard, r.Body)
	handler(w, r)
}

// Stats returns what the handler has seen so far.
func (s *EarlyServer) Stats() EarlyStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// EarlyClient fetches from an EarlyServer, keeping session tickets.
type EarlyClient struct {
	cfg *earlytls.Config
	lab *lab.Lab
	srv *EarlyServer
}

// Client returns a new client of s with an empty session cache.
func (s *EarlyServer) Client() *EarlyClient {
	tcfg := clientConfig(s.lab, 0, nil)
	tcfg.ServerName = s.lab.ServerHost()
	tcfg.ClientSessionCache = newCache()
	return &EarlyClient{cfg: &earlytls.Config{TLS: tcfg}, lab: s.lab, srv: s}
}

// Fetch opens a new connection (with TCP Fast Open if fastOpen) and sends
// method / in the same write as the ClientHello: as early data if the
// client holds a ticket that allows it. On 425 Too Early it waits for the
// handshake and sends the request again on the same connection. It keeps
// the connection until the server's new ticket arrives, so that the next
// fetch can send early data again.
func (c *EarlyClient) Fetch(ctx context.Context, name string, predicted int,
	method string, fastOpen bool) (lab.Trip, error) {
	var sockopts []lab.SockOpt
	if fastOpen {
		sockopts = append(sockopts, fastOpenConnect)
	}
	var conn *earlytls.Conn
	trip, err := c.lab.Measure(ctx, name, predicted, func(ctx context.Context) (lab.Result, error) {
		nc, err := c.lab.DialTCP(ctx, c.srv.Addr, sockopts...)
		if err != nil {
			return lab.Result{}, err
		}
		conn = earlytls.Client(nc, c.cfg)
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fb := &firstByte{Conn: conn}
		br := bufio.NewReader(fb)
		res := lab.Result{Local: nc.LocalAddr()}
		status, err := request(br, fb, method, c.srv.Addr)
		if err == nil && status == http.StatusTooEarly {
			res.Notes = append(res.Notes, "425 Too Early: sent again after the handshake")
			if err = conn.HandshakeContext(ctx); err == nil {
				fb.reset()
				status, err = request(br, fb, method, c.srv.Addr)
			}
		}
		if err != nil {
			return res, err
		}
		res.FirstByte = fb.at
		res.Status = fmt.Sprintf("%d %s", status, http.StatusText(status))
		cs := conn.ConnectionState()
		res.Notes = append(res.Notes, tlsNotes(&cs)...)
		return res, nil
	})
	if conn == nil {
		return trip, err
	}
	defer conn.Close()
	if err != nil {
		return trip, err
	}
	trip.Resumed = conn.ConnectionState().DidResume
	trip.EarlyData = conn.EarlyDataAccepted()
	if trip.EarlyData {
		trip.Notes = append(trip.Notes, "the server took the early data")
	}
	if err := conn.AwaitTicket(ctx); err != nil {
		return trip, fmt.Errorf("waiting for a new ticket: %w", err)
	}
	return trip, nil
}

// request sends method / as HTTP/1.1 in one write and reads the response.
func request(br *bufio.Reader, w io.Writer, method, host string) (int, error) {
	req, err := http.NewRequest(method, "https://"+host+"/", nil)
	if err != nil {
		return 0, err
	}
	if method == http.MethodPost {
		req.Body = io.NopCloser(strings.NewReader(postBody))
		req.ContentLength = int64(len(postBody))
	}
	// Request.Write buffers and flushes once: one Write, so with a
	// ticket the request leaves with the ClientHello.
	if err := req.Write(w); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return 0, err
	}
	return readResponse(resp)
}

// firstByte notes when its first Read returned data.
type firstByte struct {
	net.Conn
	at time.Time
}

func (f *firstByte) Read(b []byte) (int, error) {
	n, err := f.Conn.Read(b)
	if n > 0 && f.at.IsZero() {
		f.at = time.Now()
	}
	return n, err
}

// reset forgets the first byte, for a request sent again.
func (f *firstByte) reset() { f.at = time.Time{} }

// Replay sends flight, captured from a client's first flight, on a new
// connection from the client's host, as an attacker on the path could,
// and reads whatever the server answers until it hangs up.
func Replay(ctx context.Context, l *lab.Lab, addr string, flight []byte) (int, error) {
	c, err := l.DialTCP(ctx, addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(flight); err != nil {
		return 0, err
	}
	// Half-close: the server reads the copy to its end, then hangs up.
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	n, err := io.Copy(io.Discard, c)
	return int(n), err
}
