package variant

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"backend-protocols/02-protocols/http3/h3"
	"backend-protocols/02-protocols/http3/quic"
	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/tls13-0rtt/earlytls"
)

// QUICServer is an HTTP/3 server on the lab's server host, on the repo's
// own QUIC and HTTP/3 engines (02-protocols/http3). With 0-RTT allowed it
// takes early data like EarlyServer: safe methods at once, others 425 Too
// Early, and with a guard each ticket carries early data once.
type QUICServer struct {
	Addr  string
	Guard *earlytls.TicketGuard // nil: replays are accepted

	lab   *lab.Lab
	srv   *h3.Server
	ep    *quic.Endpoint
	trace *packetLog
	wg    sync.WaitGroup

	mu       sync.Mutex
	conns    map[*quic.Conn]bool // open server-side connections
	accepted int                 // connections accepted so far
	stats    EarlyStats
}

// StartQUIC starts an HTTP/3 server on the lab, allowing 0-RTT if early,
// with a ticket guard if guard.
func StartQUIC(l *lab.Lab, early, guard bool) (*QUICServer, error) {
	cfg, err := serverConfig(l, tls.VersionTLS13, tls.VersionTLS13)
	if err != nil {
		return nil, err
	}
	s := &QUICServer{lab: l, trace: &packetLog{}, conns: map[*quic.Conn]bool{}}
	if guard {
		s.Guard = &earlytls.TicketGuard{}
		if err := s.Guard.Protect(cfg); err != nil {
			return nil, err
		}
	}
	s.srv = &h3.Server{Handler: http.HandlerFunc(s.handle), TLSConfig: cfg,
		QUICConfig: &quic.Config{Allow0RTT: early, Trace: s.trace.side(false)},
		ErrorLog:   quietLog()}
	qcfg, err := s.srv.EndpointConfig()
	if err != nil {
		return nil, err
	}
	uc, addr, err := l.ListenUDP()
	if err != nil {
		return nil, err
	}
	if s.ep, err = quic.NewEndpoint(uc, qcfg); err != nil {
		uc.Close()
		return nil, err
	}
	s.Addr = addr
	s.wg.Go(s.accept)
	return s, nil
}

// accept serves each connection the endpoint accepts, keeping track of
// it so that Quiet can wait for the server's side to be gone.
func (s *QUICServer) accept() {
	for {
		qc, err := s.ep.Accept(context.Background())
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[qc] = true
		s.accepted++
		s.mu.Unlock()
		s.wg.Go(func() {
			s.srv.ServeConn(qc)
			<-qc.Done()
			s.mu.Lock()
			delete(s.conns, qc)
			s.mu.Unlock()
		})
	}
}

func (s *QUICServer) handle(w http.ResponseWriter, r *http.Request) {
	early := h3.IsEarly(r)
	s.mu.Lock()
	if early && s.handshakeDone(r.RemoteAddr) {
		s.stats.Held++
	}
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

// handshakeDone reports whether the handshake of the connection from
// remote has completed. The caller holds s.mu.
func (s *QUICServer) handshakeDone(remote string) bool {
	for qc := range s.conns {
		if qc.RemoteAddr().String() != remote {
			continue
		}
		select {
		case <-qc.HandshakeComplete():
			return true
		default:
			return false
		}
	}
	return false
}

// Accepted returns how many connections the server has accepted.
func (s *QUICServer) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Stats returns what the handler has seen so far.
func (s *QUICServer) Stats() EarlyStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Quiet waits until the server has no connection left (each is gone
// once its closing or draining period is over): only then does a copy of
// an old connection's first packets start a new connection instead of
// reaching the old one, which drops it.
func (s *QUICServer) Quiet(ctx context.Context) error {
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d connections still open: %w", n, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Close stops the server and closes its connections and endpoint.
func (s *QUICServer) Close() error {
	s.srv.Close()
	err := s.ep.Close()
	s.wg.Wait()
	return err
}

// countingCache is a session cache that counts the tickets put in it, so
// a client can wait for the server's new ticket before it hangs up.
type countingCache struct {
	tls.ClientSessionCache
	puts atomic.Int64
}

func (c *countingCache) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		c.puts.Add(1)
	}
	c.ClientSessionCache.Put(key, cs)
}

// QUICClient fetches from a QUICServer over HTTP/3, keeping tickets.
type QUICClient struct {
	lab   *lab.Lab
	srv   *QUICServer
	cache *countingCache
}

// Client returns a new client of s with an empty session cache.
func (s *QUICServer) Client() *QUICClient {
	return &QUICClient{lab: s.lab, srv: s,
		cache: &countingCache{ClientSessionCache: newCache()}}
}

// Fetch opens a new QUIC connection (0-RTT if the client holds a ticket
// that allows it) and sends method / over HTTP/3; on 425 Too Early it
// waits for the handshake and sends the request again on the same
// connection. It keeps the connection until the server's next ticket has
// arrived, so that the next fetch has a fresh one.
func (c *QUICClient) Fetch(ctx context.Context, name string, predicted int,
	method string) (lab.Trip, error) {
	tc := clientConfig(c.lab, tls.VersionTLS13, c.cache)
	cliLog := &packetLog{}
	var conn *quic.Conn
	tr := &h3.Transport{TLSClientConfig: tc,
		QUICConfig: &quic.Config{Trace: cliLog.side(true)},
		Dial: func(ctx context.Context, addr string, cfg *quic.Config) (*quic.Conn, error) {
			// DialEarly makes its socket: in the client's namespace.
			err := c.lab.Do(lab.Client, func() (err error) {
				conn, err = quic.DialEarly(ctx, "udp", addr, cfg)
				return err
			})
			return conn, err
		}}
	defer tr.Close()
	tickets := c.cache.puts.Load()
	held := c.srv.Stats().Held
	url := "https://" + c.srv.Addr + "/"
	trip, err := c.lab.Measure(ctx, name, predicted, func(ctx context.Context) (lab.Result, error) {
		var res lab.Result
		status, err := h3Request(ctx, tr, method, url)
		if err == nil && status == http.StatusTooEarly {
			res.Notes = append(res.Notes, "425 Too Early: sent again after the handshake")
			select {
			case <-conn.HandshakeComplete():
			case <-ctx.Done():
				return res, ctx.Err()
			}
			status, err = h3Request(ctx, tr, method, url)
		}
		res.FirstByte = time.Now()
		if err != nil {
			return res, err
		}
		res.Local = conn.LocalAddr()
		res.Status = fmt.Sprintf("%d %s", status, http.StatusText(status))
		cs := conn.ConnectionState()
		res.Notes = append(res.Notes, tlsNotes(&cs)...)
		return res, nil
	})
	if err != nil {
		return trip, err
	}
	trip.Resumed = conn.ConnectionState().DidResume
	trip.EarlyData = conn.Used0RTT() && !conn.EarlyDataRejected()
	if trip.EarlyData {
		trip.Notes = append(trip.Notes, "the server took the 0-RTT data")
	}
	if trip.EarlyHeld = c.srv.Stats().Held > held; trip.EarlyHeld {
		trip.Notes = append(trip.Notes, "but answered only after the handshake "+
			"(the QUIC engine serves no request at 0.5-RTT)")
	}
	trip.Events = c.lab.Ladder(trip, cliLog.events(), c.srv.trace.events())
	// The next ticket comes once the server has the client's Finished.
	for deadline := time.Now().Add(5 * time.Second); c.cache.puts.Load() == tickets; {
		if time.Now().After(deadline) {
			return trip, errors.New("no session ticket from the server")
		}
		time.Sleep(time.Millisecond)
	}
	return trip, nil
}

// h3Request sends method / and reads the whole response; the response is
// back when RoundTrip returns its headers.
func h3Request(ctx context.Context, rt http.RoundTripper, method, url string) (int, error) {
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(postBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	return readResponse(resp)
}

// packetLog keeps the packets one side sent, from the QUIC engine's
// trace: which packet types, which frames. The ladder names QUIC packets
// from it (their contents are encrypted on the wire).
type packetLog struct {
	mu   sync.Mutex
	sent []lab.SentPacket
}

// maxLogged bounds a packet log.
const maxLogged = 10000

// side returns a quic.Config.Trace that logs what is sent, as the client
// or as the server.
func (p *packetLog) side(client bool) func(quic.PacketEvent) {
	return func(e quic.PacketEvent) {
		if !e.Sent {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.sent) < maxLogged {
			p.sent = append(p.sent, lab.SentPacket{At: e.Time, Client: client,
				Text: packetLabel(e), Quiet: ackOnly(e.Frames)})
		}
	}
}

func (p *packetLog) events() []lab.SentPacket {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]lab.SentPacket(nil), p.sent...)
}

// packetLabel names a packet by its type and its frames, once each, with
// the ids of the streams it carries: "Initial: CRYPTO", "0-RTT: STREAM
// 0,2,6,10", "1-RTT: ACK, CRYPTO, HANDSHAKE_DONE".
func packetLabel(e quic.PacketEvent) string {
	var names, streams []string
	seen := map[string]bool{}
	for _, f := range e.Frames {
		name, rest, _ := strings.Cut(f, " ")
		if name == "STREAM" { // "STREAM id=0 off=0 len=35 fin"
			id, _, _ := strings.Cut(strings.TrimPrefix(rest, "id="), " ")
			if !seen["STREAM "+id] {
				seen["STREAM "+id] = true
				streams = append(streams, id)
			}
		}
		if name == "PADDING" || seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	for i, n := range names {
		if n == "STREAM" {
			names[i] = "STREAM " + strings.Join(streams, ",")
		}
	}
	return e.Type.String() + ": " + strings.Join(names, ", ")
}

// ackOnly reports whether a packet only acknowledges, pings or pads
// (such as a path MTU probe): a ladder leaves it out, as it does TCP's
// bare ACKs; its bytes still count.
func ackOnly(frames []string) bool {
	for _, f := range frames {
		if !strings.HasPrefix(f, "ACK") && !strings.HasPrefix(f, "PADDING") &&
			f != "PING" {
			return false
		}
	}
	return true
}

// ReplayDatagrams sends datagrams, captured from a client's first flight,
// from a new socket on the client's host, as an attacker on the path
// could, and hangs up: the server's answers go nowhere.
func ReplayDatagrams(ctx context.Context, l *lab.Lab, addr string, datagrams [][]byte) error {
	uc, err := l.ClientUDP()
	if err != nil {
		return err
	}
	defer uc.Close()
	to, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	for _, d := range datagrams {
		if _, err := uc.WriteTo(d, to); err != nil {
			return err
		}
	}
	return nil
}
