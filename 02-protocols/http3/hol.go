package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/02-protocols/http3/h3"
	"backend-protocols/02-protocols/http3/quic"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/netem"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
)

// holConfig is the head-of-line blocking experiment: Resources fetched at
// once, Size bytes each, over a path with Delay each way, where the
// DropAt-th full-size data packet from the server is lost.
type holConfig struct {
	Resources int
	Size      int
	Delay     time.Duration
	DropAt    int
}

// holResult holds per-resource completion times, without and with the
// loss, for one protocol.
type holResult struct {
	Proto      string
	Base, Loss []time.Duration
	Dropped    int64 // packets the path dropped in the loss run
}

// Delayed counts resources that finished more than half a round trip
// later with the loss than without: those the lost packet held up.
func (r holResult) Delayed(rtt time.Duration) int {
	n := 0
	for i := range r.Loss {
		if r.Loss[i]-r.Base[i] > rtt/2 {
			n++
		}
	}
	return n
}

// HeldUp counts the resources of the run with the loss that finished
// more than half a round trip after the first one did: those that waited
// for the lost packet to be sent again. Measured within one run, it does
// not move when the whole run is slower.
func (r holResult) HeldUp(rtt time.Duration) int {
	return heldUp(r.Loss, rtt)
}

func heldUp(ds []time.Duration, rtt time.Duration) int {
	first := slices.Min(ds)
	n := 0
	for _, d := range ds {
		if d-first > rtt/2 {
			n++
		}
	}
	return n
}

// holReport is the whole comparison.
type holReport struct {
	H2, H3 holResult
	// Link says the comparison ran over real packets between network
	// namespaces; without them HTTP/2 ran over a TCP relay that cannot
	// drop a segment, and the comparison is one-sided.
	Link bool
	Why  string // why the namespaces were not used
}

// dropper loses the n-th full-size packet of one transport protocol from
// the server, while armed. On a namespace link it sees IP packets; on a
// relay, UDP payloads.
type dropper struct {
	ip      bool
	proto   atomic.Int32 // 6 TCP, 17 UDP
	at      atomic.Int64
	seen    atomic.Int64
	dropped atomic.Int64
}

// arm starts counting again and drops packet n (0: none).
func (d *dropper) arm(proto byte, n int) {
	d.proto.Store(int32(proto))
	d.seen.Store(0)
	d.dropped.Store(0)
	d.at.Store(int64(n))
}

func (d *dropper) drop(_ int, pkt []byte) bool {
	at := d.at.Load()
	if at == 0 || len(pkt) < 1000 {
		return false
	}
	if d.ip && (len(pkt) < 20 || int32(pkt[9]) != d.proto.Load()) {
		return false
	}
	if d.seen.Add(1) == at {
		d.dropped.Add(1)
		return true
	}
	return false
}

// resources serves "/" and "/res/N" (Size bytes each).
func resources(size int) http.Handler {
	body := make([]byte, size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	mux := http.NewServeMux()
	warm := make([]byte, warmSize)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
		w.Write(warm)
	})
	mux.HandleFunc("GET /res/{n}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Write(body)
	})
	return mux
}

// fetchAll gets every resource at once and returns when each finished,
// counted from the moment the requests started.
func fetchAll(ctx context.Context, client *http.Client, base string, n, size int) ([]time.Duration, error) {
	times := make([]time.Duration, n)
	errs := make([]error, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
				fmt.Sprintf("%s/res/%d", base, i), nil)
			resp, err := client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			got, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			times[i] = time.Since(start)
			if err == nil && got != int64(size) {
				err = fmt.Errorf("resource %d: got %d bytes, want %d", i, got, size)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return times, errors.Join(errs...)
}

// warmSize is what the warm-up request fetches: enough for both
// protocols' congestion windows to grow past what the timed fetch needs,
// so that it goes out in one flight and the comparison shows
// head-of-line blocking rather than slow start.
const warmSize = 64 << 10

// warmUp makes one request so that the connection (and its handshake)
// exists before the timed fetch, and checks the protocol.
func warmUp(ctx context.Context, client *http.Client, base string, major int) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != major {
		return fmt.Errorf("got %s, want HTTP/%d", resp.Proto, major)
	}
	return nil
}

// holEnv is where the two protocols run: dial and listen functions for
// client and server, on a namespace link or on loopback relays.
type holEnv struct {
	serverAddr netip.Addr
	listenTCP  func(addr string) (net.Listener, error)
	listenUDP  func(addr string) (*net.UDPConn, error)
	clientUDP  func() (*net.UDPConn, error)
	dialTCP    func(ctx context.Context, network, addr string) (net.Conn, error)
	// h2Addr and h3Addr map the servers' addresses to where clients
	// connect (the same on a link; a relay's address otherwise).
	h2Addr, h3Addr func(string) (string, error)
	close          func()
}

// linkEnv runs both protocols between two network namespaces joined by
// one link that delays and drops real packets, so HTTP/2 runs on the
// kernel's own TCP.
func linkEnv(cfg holConfig, d *dropper) (*holEnv, error) {
	down := netem.Path{Delay: cfg.Delay, Drop: d.drop}
	chain, err := netem.NewPair(netem.Path{Delay: cfg.Delay}, down)
	if err != nil {
		return nil, err
	}
	// Linux shrinks an idle connection's window back to the initial one;
	// keep the window the warm-up grew, as QUIC does.
	if err := chain.Server().Sysctl("net.ipv4.tcp_slow_start_after_idle", "0"); err != nil {
		chain.Close()
		return nil, err
	}
	d.ip = true
	srv, cli := chain.Server(), chain.Client()
	cliAddr := chain.Addr(0)
	return &holEnv{
		serverAddr: chain.Addr(1),
		listenTCP:  func(a string) (net.Listener, error) { return srv.Listen("tcp", a) },
		listenUDP: func(a string) (*net.UDPConn, error) {
			pc, err := srv.ListenPacket("udp", a)
			if err != nil {
				return nil, err
			}
			return pc.(*net.UDPConn), nil
		},
		clientUDP: func() (*net.UDPConn, error) {
			pc, err := cli.ListenPacket("udp", netip.AddrPortFrom(cliAddr, 0).String())
			if err != nil {
				return nil, err
			}
			return pc.(*net.UDPConn), nil
		},
		dialTCP: cli.DialContext,
		h2Addr:  func(a string) (string, error) { return a, nil },
		h3Addr:  func(a string) (string, error) { return a, nil },
		close:   func() { chain.Close() },
	}, nil
}

// relayEnv is the fallback on loopback: a UDP relay that delays and drops
// datagrams for HTTP/3, a TCP relay that can only delay for HTTP/2.
func relayEnv(cfg holConfig, d *dropper) *holEnv {
	var relays []interface{ Close() error }
	var mu sync.Mutex
	keep := func(r interface{ Close() error }) {
		mu.Lock()
		relays = append(relays, r)
		mu.Unlock()
	}
	dial := &net.Dialer{}
	return &holEnv{
		serverAddr: netip.MustParseAddr("127.0.0.1"),
		listenTCP:  func(a string) (net.Listener, error) { return net.Listen("tcp", a) },
		listenUDP: func(a string) (*net.UDPConn, error) {
			return net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(a)))
		},
		clientUDP: func() (*net.UDPConn, error) {
			return net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		},
		dialTCP: dial.DialContext,
		h2Addr: func(a string) (string, error) {
			p := netem.Path{Delay: cfg.Delay}
			r, err := netem.NewTCPRelay("127.0.0.1:0", a, p, p)
			if err != nil {
				return "", err
			}
			keep(r)
			return r.Addr().String(), nil
		},
		h3Addr: func(a string) (string, error) {
			r, err := netem.NewUDPRelay("127.0.0.1:0", a,
				netem.Path{Delay: cfg.Delay},
				netem.Path{Delay: cfg.Delay, Drop: d.drop})
			if err != nil {
				return "", err
			}
			keep(r)
			return r.Addr().String(), nil
		},
		close: func() {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range relays {
				r.Close()
			}
		},
	}
}

// headOfLine fetches the resources over HTTP/2 and over HTTP/3, each
// without and then with one lost packet, and prints per-resource
// completion times.
func headOfLine(ctx context.Context, tl *timeline.Timeline, ca *certs.CA, cfg holConfig) (holReport, error) {
	var rep holReport
	d := &dropper{}
	env, err := func() (*holEnv, error) {
		if err := netns.Available(); err != nil {
			rep.Why = err.Error()
			return nil, nil
		}
		return linkEnv(cfg, d)
	}()
	if err != nil {
		rep.Why = err.Error()
	}
	if env == nil {
		env = relayEnv(cfg, d)
	} else {
		rep.Link = true
	}
	defer env.close()
	tc, err := ca.ServerConfig(env.serverAddr.String())
	if err != nil {
		return rep, err
	}
	handler := resources(cfg.Size)
	rep.H2, err = runH2(ctx, env, d, tc, ca, handler, cfg)
	if err != nil {
		return rep, fmt.Errorf("HTTP/2: %w", err)
	}
	rep.H3, err = runH3(ctx, env, d, tc, ca, handler, cfg)
	if err != nil {
		return rep, fmt.Errorf("HTTP/3: %w", err)
	}
	printHOL(tl, rep, cfg)
	return rep, nil
}

func runH2(ctx context.Context, env *holEnv, d *dropper, tc *tls.Config,
	ca *certs.CA, h http.Handler, cfg holConfig) (holResult, error) {
	res := holResult{Proto: "HTTP/2 over TCP"}
	ln, err := env.listenTCP(netip.AddrPortFrom(env.serverAddr, 0).String())
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: h, TLSConfig: tc}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- demo.ServeHTTP(sctx, srv, ln) }()
	defer func() { stop(); <-done }()
	addr, err := env.h2Addr(ln.Addr().String())
	if err != nil {
		return res, err
	}
	run := func(dropAt int) ([]time.Duration, error) {
		tr := &http.Transport{TLSClientConfig: ca.ClientConfig(),
			ForceAttemptHTTP2: true, DialContext: env.dialTCP}
		tr.TLSClientConfig.ServerName = env.serverAddr.String()
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		d.arm(6, 0)
		if err := warmUp(ctx, client, "https://"+addr, 2); err != nil {
			return nil, err
		}
		d.arm(6, dropAt)
		return fetchAll(ctx, client, "https://"+addr, cfg.Resources, cfg.Size)
	}
	return res, res.measure(d, cfg.DropAt, run)
}

func runH3(ctx context.Context, env *holEnv, d *dropper, tc *tls.Config,
	ca *certs.CA, h http.Handler, cfg holConfig) (holResult, error) {
	res := holResult{Proto: "HTTP/3 over QUIC"}
	uc, err := env.listenUDP(netip.AddrPortFrom(env.serverAddr, 0).String())
	if err != nil {
		return res, err
	}
	srv := &h3.Server{Handler: h, TLSConfig: tc}
	qc, err := srv.EndpointConfig()
	if err != nil {
		return res, err
	}
	ep, err := quic.NewEndpoint(uc, qc)
	if err != nil {
		return res, err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ep) }()
	defer func() { srv.Close(); <-done }()
	addr, err := env.h3Addr(uc.LocalAddr().String())
	if err != nil {
		return res, err
	}
	run := func(dropAt int) ([]time.Duration, error) {
		cuc, err := env.clientUDP()
		if err != nil {
			return nil, err
		}
		cep, err := quic.NewEndpoint(cuc, nil)
		if err != nil {
			return nil, err
		}
		defer cep.Close()
		tlsc := ca.ClientConfig()
		tlsc.ServerName = env.serverAddr.String()
		tr := &h3.Transport{TLSClientConfig: tlsc,
			Dial: func(ctx context.Context, a string, c *quic.Config) (*quic.Conn, error) {
				return cep.Dial(ctx, a, c)
			}}
		defer tr.Close()
		client := &http.Client{Transport: tr}
		d.arm(17, 0)
		if err := warmUp(ctx, client, "https://"+addr, 3); err != nil {
			return nil, err
		}
		d.arm(17, dropAt)
		return fetchAll(ctx, client, "https://"+addr, cfg.Resources, cfg.Size)
	}
	return res, res.measure(d, cfg.DropAt, run)
}

// measure runs a fetch without loss, then with packet dropAt lost, and
// records both.
func (r *holResult) measure(d *dropper, dropAt int,
	run func(dropAt int) ([]time.Duration, error)) error {
	var err error
	if r.Base, err = run(0); err != nil {
		return err
	}
	if r.Loss, err = run(dropAt); err != nil {
		return err
	}
	r.Dropped = d.dropped.Load()
	d.arm(0, 0)
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// printHOL prints the table of completion times and the verdict.
func printHOL(tl *timeline.Timeline, rep holReport, cfg holConfig) {
	rtt := 2 * cfg.Delay
	tl.Printf("")
	how := "real packets between network namespaces (kernel TCP for HTTP/2)"
	if !rep.Link {
		how = "loopback relays: HTTP/3's loses a datagram, HTTP/2's TCP relay " +
			"cannot drop a segment (" + rep.Why + ")"
	}
	tl.Printf("head-of-line blocking: %d resources of %d KB fetched at once, "+
		"%v each way,", cfg.Resources, cfg.Size>>10, cfg.Delay)
	tl.Printf("data packet number %d from the server lost; %s", cfg.DropAt, how)
	tl.Printf("  %-10s %14s %14s %14s %14s", "resource", "HTTP/2", "HTTP/2 +loss",
		"HTTP/3", "HTTP/3 +loss")
	for i := range cfg.Resources {
		tl.Printf("  %-10s %14s %14s %14s %14s", fmt.Sprintf("/res/%d", i),
			timeline.Ms(rep.H2.Base[i]), mark(rep.H2, i, rtt),
			timeline.Ms(rep.H3.Base[i]), mark(rep.H3, i, rtt))
	}
	tl.Printf("  %-10s %14s %14s %14s %14s", "median",
		timeline.Ms(median(rep.H2.Base)), timeline.Ms(median(rep.H2.Loss)),
		timeline.Ms(median(rep.H3.Base)), timeline.Ms(median(rep.H3.Loss)))
	tl.Printf("  packets dropped: HTTP/2 %d, HTTP/3 %d; * = finished over half "+
		"a round trip later than without the loss", rep.H2.Dropped,
		rep.H3.Dropped)
	tl.Printf("  held up by the one lost packet: HTTP/2 %d of %d resources, "+
		"HTTP/3 %d of %d", rep.H2.Delayed(rtt), cfg.Resources,
		rep.H3.Delayed(rtt), cfg.Resources)
	tl.Printf("  (TCP delivers bytes in order, so every stream waits for the " +
		"retransmission; QUIC delivers each stream on its own)")
}

// mark formats resource i's time with the loss, starred if the loss
// held it up.
func mark(r holResult, i int, rtt time.Duration) string {
	s := timeline.Ms(r.Loss[i])
	if r.Loss[i]-r.Base[i] > rtt/2 {
		s += "*"
	}
	return s
}
