package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"time"

	"backend-protocols/02-protocols/tls/tlstap"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/timeline"
)

// ioTimeout bounds every network wait in the scenario.
const ioTimeout = 5 * time.Second

// oneWay is the delay link's latency in each direction for the runs that
// count round trips.
const oneWay = 15 * time.Millisecond

// result is what the scenario measured, for the tests.
type result struct {
	Negotiated []negotiated
	Runs       []run // full and resumed handshakes, TLS 1.2 and 1.3
	Failures   []failure
}

type negotiated struct {
	Name       string
	State      tls.ConnectionState
	SNI        string        // as the server saw it
	Offered    []tls.CurveID // key shares in the ClientHello, from the tap
	Chosen     tls.CurveID   // key share in the ServerHello, from the tap
	HelloBytes int           // the ClientHello record's length
}

type run struct {
	Version  uint16
	Resumed  bool
	State    tls.ConnectionState
	Took     time.Duration // the client's Handshake call
	RTTs     float64       // Took over the link's round-trip time
	Records  [2]int        // handshake records per side (client, server)
	Bytes    [2]int        // their bytes
	Readable [2][]tlstap.HandshakeType
	Hidden   [2]int // encrypted handshake records
	PSK      bool   // the ServerHello accepted a pre-shared key (1.3)
	Ticket   bool   // the ClientHello offered a session ticket (1.2)
	AppData  []byte // the start of the client's first application record
	Events   []timeline.Event
}

type failure struct {
	Name      string
	ClientErr error
	ServerErr error
}

func scenario(ctx context.Context, tl *timeline.Timeline) (*result, error) {
	res := &result{}
	ca, err := certs.NewCA()
	if err != nil {
		return res, err
	}
	if path := os.Getenv(certs.KeyLogEnv); path != "" {
		tl.Note("tls", "writing session secrets to %s for Wireshark", path)
	} else {
		tl.Note("tls", "set SSLKEYLOGFILE=/path to let Wireshark decrypt this run")
	}
	steps := []struct {
		name string
		f    func() error
	}{
		{"negotiation", func() error { return negotiate(tl, ca, res) }},
		{"versions and resumption", func() error { return versions(tl, ca, res) }},
		{"failures", func() error { return failures(tl, ca, res) }},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := s.f(); err != nil {
			return res, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return res, nil
}

// dial connects to addr and runs the client's handshake, timing it.
func dial(addr string, cfg *tls.Config) (*tls.Conn, *countingConn, time.Duration, error) {
	raw, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return nil, nil, 0, err
	}
	raw.SetDeadline(time.Now().Add(ioTimeout))
	cc := &countingConn{Conn: raw}
	c := tls.Client(cc, cfg)
	start := time.Now()
	err = c.Handshake()
	took := time.Since(start)
	if err != nil {
		c.Close()
		return nil, nil, took, err
	}
	return c, cc, took, nil
}

// ping sends "ping" and reads the "pong".
func ping(c *tls.Conn) error {
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	// A TLS 1.2 read may return the data and the peer's close together.
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "pong" {
		return fmt.Errorf("got %q, want pong", buf)
	}
	return nil
}

func hellos(recs []seenRecord) (ch, sh *tlstap.Hello) {
	for _, r := range recs {
		for _, m := range r.Record.Messages {
			switch {
			case m.Type == tlstap.ClientHello && m.Hello != nil:
				ch = m.Hello
			case m.Type == tlstap.ServerHello && m.Hello != nil:
				sh = m.Hello
			}
		}
	}
	return ch, sh
}

// watched starts a server with a fresh certificate from ca and a tap in
// front of it, behind a link of oneWay each way if it is not zero.
func watched(ca *certs.CA, oneWay time.Duration) (*server, *watch, error) {
	scfg, err := ca.ServerConfig()
	if err != nil {
		return nil, nil, err
	}
	srv, err := startServer(scfg)
	if err != nil {
		return nil, nil, err
	}
	w, err := newWatch(srv.Addr(), oneWay)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return srv, w, nil
}

func negotiate(tl *timeline.Timeline, ca *certs.CA, res *result) error {
	tl.Printf("")
	tl.Printf("== what was negotiated ==")
	srv, w, err := watched(ca, 0)
	if err != nil {
		return err
	}
	defer srv.Close()
	defer w.Close()
	cases := []struct {
		name   string
		curves []tls.CurveID
	}{
		{"Go's default", nil},
		{"classic X25519 only", []tls.CurveID{tls.X25519}},
	}
	for i, c := range cases {
		cfg := ca.ClientConfig()
		cfg.ServerName = "localhost"
		cfg.NextProtos = []string{"h2", "http/1.1"}
		cfg.CurvePreferences = c.curves
		conn, _, _, err := dial(w.Addr(), cfg)
		if err != nil {
			return err
		}
		err = ping(conn)
		conn.Close()
		if err != nil {
			return err
		}
		sv, err := srv.next()
		if err != nil {
			return err
		}
		n := negotiated{Name: c.name, State: conn.ConnectionState(),
			SNI: sv.State.ServerName}
		recs := w.Conn(i + 1)
		ch, sh := hellos(recs)
		if ch == nil || sh == nil {
			return errors.New("the tap saw no hellos")
		}
		n.Offered, n.Chosen = ch.Groups, sh.Groups[0]
		n.HelloBytes = recs[0].Record.Length
		res.Negotiated = append(res.Negotiated, n)
		tl.Printf("client with %s key shares:", c.name)
		printState(tl, n.State)
		tl.Printf("  SNI            %s (as the server saw it)", n.SNI)
		tl.Printf("  on the wire    ClientHello %d bytes, key shares offered %v, "+
			"server chose %v", n.HelloBytes, n.Offered, n.Chosen)
	}
	return nil
}

// printState prints what a client's handshake negotiated.
func printState(tl *timeline.Timeline, st tls.ConnectionState) {
	tl.Printf("  version        %s", tls.VersionName(st.Version))
	tl.Printf("  cipher suite   %s", tls.CipherSuiteName(st.CipherSuite))
	tl.Printf("  key exchange   %s", st.CurveID)
	tl.Printf("  ALPN           %q", st.NegotiatedProtocol)
	tl.Printf("  verified chain %s", chain(st.VerifiedChains))
}

func chain(chains [][]*x509.Certificate) string {
	if len(chains) == 0 {
		return "(none)"
	}
	var names []string
	for _, c := range chains[0] {
		names = append(names, fmt.Sprintf("%q", c.Subject.CommonName))
	}
	return strings.Join(names, " <- signed by ")
}

// versions runs a full and then a resumed handshake in TLS 1.2 and in TLS
// 1.3 over a delay link, with the tap counting records.
func versions(tl *timeline.Timeline, ca *certs.CA, res *result) error {
	srv, w, err := watched(ca, oneWay)
	if err != nil {
		return err
	}
	defer srv.Close()
	defer w.Close()
	rtt := 2 * oneWay
	conn := 0
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cache := tls.NewLRUClientSessionCache(4)
		for _, resumed := range []bool{false, true} {
			conn++
			r, err := oneRun(w, srv, ca, v, cache, conn, rtt)
			if err != nil {
				return fmt.Errorf("%s: %w", tls.VersionName(v), err)
			}
			if r.Resumed != resumed {
				return fmt.Errorf("%s: got DidResume %v, want %v",
					tls.VersionName(v), r.Resumed, resumed)
			}
			res.Runs = append(res.Runs, r)
		}
	}
	for _, r := range res.Runs {
		if r.Resumed {
			continue
		}
		tl.Printf("")
		tl.Printf("== %s, full handshake, records as the tap saw them (%v each way) ==",
			tls.VersionName(r.Version), oneWay)
		var sb strings.Builder
		timeline.Ladder(&sb, r.Events, "client", "server")
		tl.Printf("%s", strings.TrimRight(sb.String(), "\n"))
	}
	tl.Printf("")
	tl.Printf("== handshakes compared (round trip %v) ==", rtt)
	tl.Printf("%-9s %-8s %6s %15s %15s %s", "version", "", "RTTs", "client records",
		"server records", "readable on the wire")
	for _, r := range res.Runs {
		kind := "full"
		if r.Resumed {
			kind = "resumed"
		}
		tl.Printf("%-9s %-8s %6.1f %8d %5dB %8d %5dB %v / %v", tls.VersionName(r.Version),
			kind, r.RTTs, r.Records[0], r.Bytes[0], r.Records[1], r.Bytes[1],
			r.Readable[0], r.Readable[1])
	}
	for i := 0; i+1 < len(res.Runs); i += 2 {
		full, again := res.Runs[i], res.Runs[i+1]
		how := fmt.Sprintf("ticket in the ClientHello: %v", again.Ticket)
		if full.Version == tls.VersionTLS13 {
			how = fmt.Sprintf("pre_shared_key in the ServerHello: %v", again.PSK)
		}
		tl.Printf("%s resumed (DidResume %v, %s): %.1f round trips saved, "+
			"the server sent %d fewer bytes", tls.VersionName(full.Version),
			again.Resumed, how, full.RTTs-again.RTTs, full.Bytes[1]-again.Bytes[1])
	}
	for _, r := range res.Runs {
		if r.Version == tls.VersionTLS13 && !r.Resumed {
			tl.Printf("")
			tl.Printf("after the handshake the tap sees only ciphertext: the client's "+
				"\"ping\" left as % x ...", r.AppData)
		}
	}
	return nil
}

func oneRun(w *watch, srv *server, ca *certs.CA, v uint16,
	cache tls.ClientSessionCache, conn int, rtt time.Duration) (run, error) {
	cfg := ca.ClientConfig()
	cfg.ServerName, cfg.MaxVersion = "localhost", v
	cfg.ClientSessionCache = cache
	c, cc, took, err := dial(w.Addr(), cfg)
	if err != nil {
		return run{}, err
	}
	defer c.Close()
	sv, err := srv.next()
	if err != nil {
		return run{}, err
	}
	if sv.Err != nil {
		return run{}, sv.Err
	}
	// Everything both sides wrote in their handshakes has passed the tap
	// once it has decoded that many bytes from each.
	if err := w.waitSeen(conn, cc.n.Load(), sv.Written); err != nil {
		return run{}, err
	}
	hs := w.Conn(conn)
	if err := ping(c); err != nil {
		return run{}, err
	}
	r := run{Version: v, State: c.ConnectionState(), Took: took,
		RTTs: float64(took) / float64(rtt)}
	r.Resumed = r.State.DidResume
	t0 := hs[0].At
	for _, e := range hs {
		side := e.From
		r.Records[side]++
		r.Bytes[side] += tlstap.HeaderLen + e.Record.Length
		if e.Record.Encrypted {
			r.Hidden[side]++
		}
		for _, m := range e.Record.Messages {
			r.Readable[side] = append(r.Readable[side], m.Type)
		}
		from, to := "client", "server"
		if side == tlstap.Server {
			from, to = to, from
		}
		r.Events = append(r.Events, timeline.Event{At: e.At.Sub(t0),
			Kind: timeline.Send, From: from, To: to, Text: label(e.Record)})
	}
	if ch, sh := hellos(hs); ch != nil && sh != nil {
		r.PSK, r.Ticket = sh.PSK, ch.SessionTicket
	}
	// The ping is the client's first record after its handshake.
	for _, e := range w.Conn(conn)[len(hs):] {
		if e.From == tlstap.Client && e.Record.Type == tlstap.ApplicationData {
			r.AppData = e.Record.Head[:min(16, len(e.Record.Head))]
			break
		}
	}
	return r, nil
}

// label names a record for the ladder.
func label(r tlstap.Record) string {
	var names []string
	for _, m := range r.Messages {
		names = append(names, m.Type.String())
	}
	switch {
	case len(names) > 0:
		return fmt.Sprintf("%s %dB", strings.Join(names, "+"), r.Length)
	case r.Type == tlstap.ChangeCipherSpec:
		return "ChangeCipherSpec"
	case r.Encrypted && r.Type == tlstap.Handshake:
		return fmt.Sprintf("Handshake %dB (encrypted)", r.Length)
	case r.Encrypted:
		return fmt.Sprintf("encrypted %dB", r.Length)
	}
	return r.String()
}

// failures runs the handshakes a reader will see fail, one by one.
func failures(tl *timeline.Timeline, ca *certs.CA, res *result) error {
	tl.Printf("")
	tl.Printf("== five failures and their errors ==")
	other, err := certs.NewCA()
	if err != nil {
		return err
	}
	good, err := ca.ServerConfig()
	if err != nil {
		return err
	}
	now := time.Now()
	expiredCert, err := ca.ServerValid(now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	expired := good.Clone()
	expired.Certificates = []tls.Certificate{expiredCert}
	mutual, _, err := ca.MutualConfigs("client")
	if err != nil {
		return err
	}
	only13 := good.Clone()
	only13.MinVersion = tls.VersionTLS13
	cases := []struct {
		name   string
		server *tls.Config
		client func(*tls.Config)
	}{
		{"wrong host name", good, func(c *tls.Config) { c.ServerName = "db.internal" }},
		{"unknown CA", good, func(c *tls.Config) { c.RootCAs = other.Pool() }},
		{"expired certificate", expired, func(*tls.Config) {}},
		{"client certificate required", mutual, func(*tls.Config) {}},
		{"no common version", only13, func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }},
	}
	for _, c := range cases {
		f, err := fail(ca, c.server, c.client)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		f.Name = c.name
		res.Failures = append(res.Failures, f)
		tl.Printf("%s:", c.name)
		tl.Printf("  client: %v", f.ClientErr)
		tl.Printf("  server: %v", f.ServerErr)
	}
	return nil
}

// fail runs one handshake that should fail and returns both sides' errors.
// The client reads once after its handshake: in TLS 1.3 it finishes before
// the server has checked its certificate, and hears of it on that read.
func fail(ca *certs.CA, scfg *tls.Config, edit func(*tls.Config)) (failure, error) {
	srv, err := startServer(scfg)
	if err != nil {
		return failure{}, err
	}
	defer srv.Close()
	cfg := ca.ClientConfig()
	cfg.ServerName = "localhost"
	edit(cfg)
	var f failure
	c, _, _, err := dial(srv.Addr(), cfg)
	if err == nil {
		err = ping(c)
		c.Close()
	}
	f.ClientErr = err
	sv, serr := srv.next()
	if serr != nil {
		return f, serr
	}
	f.ServerErr = sv.Err
	if f.ClientErr == nil || f.ServerErr == nil {
		return f, fmt.Errorf("got client %v, server %v; want both to fail",
			f.ClientErr, f.ServerErr)
	}
	return f, nil
}

// alertOf returns the TLS alert a peer sent, if err reports one. crypto/tls
// reports a received alert as a *net.OpError "remote error" around its
// unexported alert type, a uint8 holding the alert's code (RFC 8446
// section 6); tls.AlertError is the exported name for the same codes.
func alertOf(err error) (tls.AlertError, bool) {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		if v := reflect.ValueOf(op.Err); v.Kind() == reflect.Uint8 {
			return tls.AlertError(v.Uint()), true
		}
	}
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return ae, true
	}
	return 0, false
}
