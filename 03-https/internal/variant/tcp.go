package variant

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"backend-protocols/03-https/internal/lab"
	"golang.org/x/sys/unix"
)

// TLSOptions chooses a TLS-over-TCP variant.
type TLSOptions struct {
	Version  uint16 // tls.VersionTLS12 or tls.VersionTLS13
	FastOpen bool   // TCP Fast Open on the listener and the dialer
}

// TLSServer is an HTTPS server over TCP on the lab's server host.
type TLSServer struct {
	httpServer
	Addr string // where the client dials
	lab  *lab.Lab
	opts TLSOptions
}

// StartTLS starts an HTTPS server for the variant opts. With FastOpen it
// turns Fast Open on in both hosts (net.ipv4.tcp_fastopen=3: client and
// server) and on the listener.
func StartTLS(l *lab.Lab, opts TLSOptions) (*TLSServer, error) {
	cfg, err := serverConfig(l, opts.Version, opts.Version)
	if err != nil {
		return nil, err
	}
	var sockopts []lab.SockOpt
	if opts.FastOpen {
		if err := l.Sysctl("net.ipv4.tcp_fastopen", "3"); err != nil {
			return nil, fmt.Errorf("TCP Fast Open: %w", err)
		}
		sockopts = append(sockopts, fastOpenListen)
	}
	ln, addr, err := l.ListenTCP(sockopts...)
	if err != nil {
		return nil, err
	}
	s := &TLSServer{Addr: addr, lab: l, opts: opts}
	s.serve(&http.Server{Handler: http.HandlerFunc(handler),
		ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog()},
		tls.NewListener(ln, cfg))
	return s, nil
}

// TLSClient fetches from a TLSServer, keeping TLS sessions (tickets) from
// one fetch to the next; the kernel keeps the Fast Open cookie.
type TLSClient struct {
	// Curves are the key exchanges the client offers: the package's
	// Curves unless changed; an empty slice means Go's default.
	Curves []tls.CurveID

	lab   *lab.Lab
	srv   *TLSServer
	cache tls.ClientSessionCache
}

// Client returns a new client of s with an empty session cache.
func (s *TLSServer) Client() *TLSClient {
	return &TLSClient{Curves: Curves, lab: s.lab, srv: s,
		cache: newCache()}
}

// Fetch opens a new connection, sends GET / and measures the time to the
// response's first byte; name and predicted label the trip.
func (c *TLSClient) Fetch(ctx context.Context, name string, predicted int) (lab.Trip, error) {
	opts := c.srv.opts
	cfg := clientConfig(c.lab, opts.Version, c.cache)
	cfg.CurvePreferences = c.Curves
	var sockopts []lab.SockOpt
	if opts.FastOpen {
		sockopts = append(sockopts, fastOpenConnect)
	}
	var before [2]map[string]int64
	if opts.FastOpen {
		before = c.counters()
	}
	var mu sync.Mutex
	var conn net.Conn // the TCP connection
	var resumed, syn bool
	dial := func(ctx context.Context, _, addr string) (net.Conn, error) {
		nc, err := c.lab.DialTCP(ctx, addr, sockopts...)
		mu.Lock()
		defer mu.Unlock()
		conn = nc
		if tcp, ok := nc.(*net.TCPConn); ok && opts.FastOpen {
			// TCP_INFO is gone with the socket: read it at Close.
			return &closeHook{Conn: nc, before: func() {
				s := synData(tcp)
				mu.Lock()
				syn = s
				mu.Unlock()
			}}, err
		}
		return nc, err
	}
	trip, err := c.lab.Measure(ctx, name, predicted, func(ctx context.Context) (lab.Result, error) {
		tr := &http.Transport{DialContext: dial, TLSClientConfig: cfg,
			DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		res, cs, err := get(ctx, tr, "https://"+c.srv.Addr+"/")
		mu.Lock()
		if conn != nil {
			res.Local = conn.LocalAddr()
		}
		mu.Unlock()
		res.Notes = append(res.Notes, tlsNotes(cs)...)
		resumed = cs != nil && cs.DidResume
		return res, err
	})
	if err != nil {
		return trip, err
	}
	trip.Resumed = resumed
	if opts.FastOpen {
		mu.Lock()
		trip.SYNData = syn
		mu.Unlock()
		after := c.counters()
		trip.Counters = map[string]int64{}
		for i, h := range []string{"client", "server"} {
			for k, v := range after[i] {
				if d := v - before[i][k]; d != 0 && isFastOpen(k) {
					trip.Counters[h+" "+k] = d
				}
			}
		}
	}
	return trip, nil
}

// counters reads both hosts' TcpExt counters (nil where unreadable).
func (c *TLSClient) counters() [2]map[string]int64 {
	a, _ := c.lab.TCPCounters(lab.Client)
	b, _ := c.lab.TCPCounters(lab.Server)
	return [2]map[string]int64{a, b}
}

func isFastOpen(k string) bool { return len(k) > 11 && k[:11] == "TCPFastOpen" }

// tcpiOptSYNData is TCP_INFO's flag for "the SYN we sent carried data
// that the server acknowledged" (TCPI_OPT_SYN_DATA in linux/tcp.h).
const tcpiOptSYNData = 0x20

// synData reports whether the kernel says the connection's SYN carried
// data the server accepted.
func synData(c *net.TCPConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var info *unix.TCPInfo
	raw.Control(func(fd uintptr) {
		info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	return info != nil && info.Options&tcpiOptSYNData != 0
}

// closeHook runs before once, just before the connection closes.
type closeHook struct {
	net.Conn
	before func()
	once   sync.Once
}

func (c *closeHook) Close() error {
	c.once.Do(c.before)
	return c.Conn.Close()
}

// get sends GET url through rt and reads the whole response, noting when
// its first byte arrived.
func get(ctx context.Context, rt http.RoundTripper, url string,
) (lab.Result, *tls.ConnectionState, error) {
	var res lab.Result
	var mu sync.Mutex
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() {
		mu.Lock()
		res.FirstByte = time.Now()
		mu.Unlock()
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace),
		http.MethodGet, url, nil)
	if err != nil {
		return res, nil, err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return res, nil, err
	}
	code, err := readResponse(resp)
	if err != nil {
		return res, nil, err
	}
	if code != http.StatusOK {
		return res, nil, fmt.Errorf("got %s, want 200", resp.Status)
	}
	mu.Lock()
	defer mu.Unlock()
	res.Status = resp.Proto + " " + resp.Status
	return res, resp.TLS, nil
}
