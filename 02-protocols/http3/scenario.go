package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"backend-protocols/02-protocols/http3/h3"
	"backend-protocols/02-protocols/http3/quic"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/netem"
	"backend-protocols/internal/timeline"
)

// config is the demo's knobs.
type config struct {
	Delay time.Duration // one way, on the path of the first part
	HOL   holConfig
	// SkipHOL leaves out the head-of-line comparison (tests of the first
	// part run faster without it).
	SkipHOL bool
}

// result is what the scenario measured, for the tests.
type result struct {
	HandshakeRoundTrips   int // round trips until the handshake completed
	FirstResponseRTs      int // round trips until the GET's response began
	ClientInitials        int // Initial packets carrying the ClientHello
	GetBody, PostBody     string
	AddrBefore, AddrAfter string // the client's address as the server saw it
	PathChallenges        int    // PATH_CHALLENGE frames the server sent
	PathResponses         int    // PATH_RESPONSE frames the client sent
	SameConn              bool   // the request after the rebinding reused the connection
	HOL                   holReport
}

// app is the demo's HTTP handler, shared by the scenario and -serve:
// "/" answers a short text, "/bytes/N" N bytes, "/echo" echoes a POST.
func app(tl *timeline.Timeline, seen func(*http.Request)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s from the hand-written HTTP/3 server\n", r.Proto)
	})
	mux.HandleFunc("GET /bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscan(r.PathValue("n"), &n); err != nil || n < 0 || n > 1<<30 {
			http.Error(w, "want /bytes/N with N up to 2^30", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(n))
		chunk := []byte(strings.Repeat("0123456789abcdef", 4096))
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tl.Note("server", "%s %s %s from %s", r.Proto, r.Method, r.URL.Path,
			r.RemoteAddr)
		if seen != nil {
			seen(r)
		}
		mux.ServeHTTP(w, r)
	})
}

// scenario runs the whole story.
func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (result, error) {
	var res result
	ca, err := certs.NewCA()
	if err != nil {
		return res, err
	}
	if err := wire(ctx, tl, ca, cfg, &res); err != nil {
		return res, err
	}
	if cfg.SkipHOL {
		return res, nil
	}
	res.HOL, err = headOfLine(ctx, tl, ca, cfg.HOL)
	return res, err
}

// wire shows the packets of a connection: the handshake in one round
// trip, a GET and a POST, then a NAT rebinding the connection survives.
func wire(ctx context.Context, tl *timeline.Timeline, ca *certs.CA, cfg config, res *result) error {
	log := newWireLog(tl)
	tc, err := ca.ServerConfig()
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var addrs []string
	seen := func(r *http.Request) {
		mu.Lock()
		addrs = append(addrs, r.RemoteAddr)
		mu.Unlock()
	}
	lastAddr := func() string {
		mu.Lock()
		defer mu.Unlock()
		return addrs[len(addrs)-1]
	}
	srv := &h3.Server{Handler: app(tl, seen), TLSConfig: tc,
		QUICConfig: &quic.Config{Trace: log.tracer("server", "client")}}
	ep, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ep) }()
	defer func() { srv.Close(); <-served }()
	// A relay puts a round trip of 2*Delay between the two, so flights
	// are easy to tell apart, and later plays the NAT that rebinds.
	p := netem.Path{Delay: cfg.Delay}
	relay, err := netem.NewUDPRelay("127.0.0.1:0", ep.LocalAddr().String(), p, p)
	if err != nil {
		return err
	}
	defer relay.Close()
	tlsc := ca.ClientConfig()
	tlsc.ServerName = "localhost"
	tr := &h3.Transport{TLSClientConfig: tlsc,
		QUICConfig: &quic.Config{Trace: log.tracer("client", "server")}}
	defer tr.Close()
	client := &http.Client{Transport: tr}
	base := "https://" + relay.Addr().String()
	tl.Printf("== HTTP/3 on the wire: client -> relay (%v each way) -> server %s",
		cfg.Delay, ep.LocalAddr())

	get := func(path string) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		tl.Note("client", "%s %d, %d bytes", resp.Proto, resp.StatusCode, len(b))
		return string(b), err
	}
	if res.GetBody, err = get("/"); err != nil {
		return fmt.Errorf("GET: %w", err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/echo",
		strings.NewReader("a POST body travels in DATA frames"))
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("POST: %w", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	res.PostBody = string(b)
	tl.Note("client", "%s %d, echoed %q", resp.Proto, resp.StatusCode, b)
	qc := tr.Conn(relay.Addr().String())
	if qc == nil {
		return fmt.Errorf("no QUIC connection kept")
	}
	res.AddrBefore = lastAddr()
	// Let the last ACKs land, so that the ladder ends quietly.
	time.Sleep(4 * cfg.Delay)
	handshakeLadder(tl, log, res)

	// NAT rebinding: the relay gives the client a new source port.
	tl.Printf("")
	tl.Printf("== NAT rebinding: the relay moves the client to a new source port")
	before := len(log.events())
	if err := relay.Rebind(); err != nil {
		return err
	}
	tl.Note("relay", "rebound: the client's packets now leave from a new port")
	if _, err := get("/bytes/20000"); err != nil {
		return fmt.Errorf("GET after rebinding: %w", err)
	}
	res.SameConn = tr.Conn(relay.Addr().String()) == qc
	res.AddrAfter = lastAddr()
	time.Sleep(4 * cfg.Delay)
	for _, e := range log.events()[before:] {
		switch {
		case e.From == "server" && strings.Contains(e.Text, "PATH_CHALLENGE"):
			res.PathChallenges++
		case e.From == "client" && strings.Contains(e.Text, "PATH_RESPONSE"):
			res.PathResponses++
		}
	}
	tl.Printf("the server saw the client move from %s to %s with the same "+
		"connection id, sent %d PATH_CHALLENGE, got %d PATH_RESPONSE; "+
		"same connection: %v", res.AddrBefore, res.AddrAfter,
		res.PathChallenges, res.PathResponses, res.SameConn)
	return nil
}

// handshakeLadder prints the flights up to the end of the POST and
// counts round trips.
func handshakeLadder(tl *timeline.Timeline, log *wireLog, res *result) {
	events := log.events()
	flights := timeline.Flights(events, "client", "server")
	for _, e := range events {
		if e.From == "client" && e.Text != "" && strings.HasPrefix(
			strings.TrimPrefix(e.Text, "+ "), "Initial") &&
			strings.Contains(e.Text, "CRYPTO") {
			res.ClientInitials++
		}
	}
	// The handshake is done when the client sends its Finished (a
	// Handshake packet with CRYPTO); the GET's answer is the first
	// server STREAM on request stream 0, whose label the narrative shows.
	hs := flightsUntil(flights, func(e timeline.Event) bool {
		return e.From == "client" && strings.Contains(e.Text, "Handshake") &&
			strings.Contains(e.Text, "CRYPTO")
	})
	res.HandshakeRoundTrips = timeline.RoundTrips(hs)
	full := tl.Find(func(e timeline.Event) bool {
		return e.Kind == timeline.Send && e.From == "server" &&
			strings.Contains(e.Text, "STREAM id=0 ")
	})
	if len(full) > 0 {
		at := full[0].At
		resp := flightsUntil(flights, func(e timeline.Event) bool {
			return e.From == "server" && e.At >= at
		})
		res.FirstResponseRTs = timeline.RoundTrips(resp)
	}
	tl.Printf("")
	var sb strings.Builder
	timeline.Ladder(&sb, events, "client", "server")
	tl.Printf("%s", strings.TrimRight(sb.String(), "\n"))
	tl.Printf("handshake complete after %d round trip(s); the GET's response "+
		"began in round trip %d; the ClientHello took %d Initial packets",
		res.HandshakeRoundTrips, res.FirstResponseRTs, res.ClientInitials)
}
