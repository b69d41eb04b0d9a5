package variant

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"time"

	"backend-protocols/03-https/internal/lab"
	"backend-protocols/03-https/tls13-0rtt/earlytls"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// Real chooses what -serve and -connect speak on a real network.
type Real struct {
	Version  uint16 // tls.VersionTLS12 or VersionTLS13
	FastOpen bool
	Early    bool   // TLS 1.3 with early data (earlytls); Version is ignored
	CAFile   string // -connect: trust these CA certificates, not the system's
	// ServerName is what -connect verifies; the host of the address if
	// empty.
	ServerName string
}

// Serve serves GET / over HTTPS on ln, with a certificate from ca, until
// ctx ends, noting each handshake.
func Serve(ctx context.Context, ln net.Listener, ca *certs.CA,
	tl *timeline.Timeline, r Real) error {
	cfg, err := ca.ServerConfig()
	if err != nil {
		return err
	}
	cfg.NextProtos = []string{"http/1.1"}
	if !r.Early {
		cfg.MinVersion, cfg.MaxVersion = r.Version, r.Version
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			tl.Note("server", "%s handshake, resumed: %v", tls.VersionName(cs.Version), cs.DidResume)
			return nil
		}
		return demo.ServeHTTP(ctx, &http.Server{Handler: http.HandlerFunc(handler),
			TLSConfig: cfg, ErrorLog: quietLog()}, ln)
	}
	ecfg := &earlytls.Config{TLS: cfg, EarlyData: true, Guard: &earlytls.TicketGuard{}}
	h := func(w http.ResponseWriter, req *http.Request) {
		c, _ := req.Context().Value(connKey{}).(*earlytls.Conn)
		early := c != nil && c.InEarlyData()
		tl.Note("server", "%s %s, in early data: %v", req.Method, req.URL, early)
		if early && !safe(req.Method) {
			w.WriteHeader(http.StatusTooEarly)
			return
		}
		handler(w, req)
	}
	srv := &http.Server{Handler: http.HandlerFunc(h), ErrorLog: quietLog(),
		ConnContext: withConn}
	return demo.ServeHTTP(ctx, srv, earlytls.NewListener(ln, ecfg))
}

// Listen listens on addr for Serve, with TCP Fast Open on the socket if r
// asks for it, and says whether this host's kernel will take Fast Open.
func Listen(addr string, r Real, tl *timeline.Timeline) (net.Listener, error) {
	lc := net.ListenConfig{}
	if r.FastOpen {
		lc.Control = rawControl(fastOpenListen)
		b, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_fastopen")
		v := strings.TrimSpace(string(b))
		tl.Note("server", "net.ipv4.tcp_fastopen=%s here; a server takes data in SYNs only "+
			"with bit 2 set (sysctl -w net.ipv4.tcp_fastopen=3)", v)
	}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// WriteCA writes the CA certificate to a temporary file for curl --cacert
// and returns its name.
func WriteCA(ca *certs.CA) (string, error) {
	f, err := os.CreateTemp("", "backend-protocols-ca-*.pem")
	if err != nil {
		return "", err
	}
	_, err = f.Write(ca.PEM())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}

// Visit is one fetch made by Connect, timed from before the dial.
type Visit struct {
	Connect   time.Duration // TCP connect (about one round trip; ~0 with Fast Open)
	Handshake time.Duration // TLS handshake done (0 with earlytls, where it is not seen apart)
	FirstByte time.Duration // first byte of the response
	Resumed   bool
	Early     bool
	Status    string
}

// Connect fetches https://addr/ twice on new connections, the second
// resuming the first's session, and prints how long each step took, in
// milliseconds and in units of the first TCP connect (about one round
// trip on a real path).
func Connect(ctx context.Context, addr string, tl *timeline.Timeline, r Real) ([]Visit, error) {
	cfg, err := realClientConfig(addr, r)
	if err != nil {
		return nil, err
	}
	var visits []Visit
	for i := range 2 {
		var v Visit
		if r.Early {
			v, err = earlyVisit(ctx, addr, cfg, r)
		} else {
			v, err = tlsVisit(ctx, addr, cfg, r)
		}
		if err != nil {
			return visits, fmt.Errorf("visit %d: %w", i+1, err)
		}
		visits = append(visits, v)
		rtt := visits[0].Connect
		unit := func(d time.Duration) string {
			if rtt <= 0 {
				return timeline.Ms(d)
			}
			return fmt.Sprintf("%s (%.1f RTT)", timeline.Ms(d), float64(d)/float64(rtt))
		}
		hs := "in the same flights"
		if v.Handshake > 0 {
			hs = unit(v.Handshake)
		}
		tl.Note("client", "visit %d: connect %s, TLS handshake done %s, first byte %s; "+
			"%s, resumed %v, early data %v", i+1, timeline.Ms(v.Connect), hs,
			unit(v.FirstByte), v.Status, v.Resumed, v.Early)
	}
	if r.FastOpen {
		tl.Note("client", "with Fast Open, connect returns at once and the SYN leaves "+
			"with the first write; the RTT unit is the first visit's connect")
	}
	return visits, nil
}

// realClientConfig is a TLS client configuration for a server elsewhere.
func realClientConfig(addr string, r Real) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: r.ServerName, NextProtos: []string{"http/1.1"},
		ClientSessionCache: newCache(), KeyLogWriter: certs.KeyLogWriter(),
		CurvePreferences: Curves}
	if !r.Early {
		cfg.MinVersion, cfg.MaxVersion = r.Version, r.Version
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		cfg.ServerName = host
	}
	if r.CAFile != "" {
		pem, err := os.ReadFile(r.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificates in %s", r.CAFile)
		}
	}
	return cfg, nil
}

// dialer is a net.Dialer, with TCP_FASTOPEN_CONNECT if asked.
func dialer(fastOpen bool) *net.Dialer {
	d := &net.Dialer{}
	if fastOpen {
		d.Control = rawControl(fastOpenConnect)
	}
	return d
}

// tlsVisit fetches once through net/http and times it with httptrace.
func tlsVisit(ctx context.Context, addr string, cfg *tls.Config, r Real) (Visit, error) {
	var v Visit
	var mu sync.Mutex
	start := time.Now()
	since := func(d *time.Duration) {
		mu.Lock()
		*d = time.Since(start)
		mu.Unlock()
	}
	trace := &httptrace.ClientTrace{
		ConnectDone:          func(string, string, error) { since(&v.Connect) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { since(&v.Handshake) },
		GotFirstResponseByte: func() { since(&v.FirstByte) },
	}
	tr := &http.Transport{DialContext: dialer(r.FastOpen).DialContext,
		TLSClientConfig: cfg, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace),
		http.MethodGet, "https://"+addr+"/", nil)
	if err != nil {
		return v, err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return v, err
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	v.Status = resp.Status
	v.Resumed = resp.TLS != nil && resp.TLS.DidResume
	return v, nil
}

// earlyVisit fetches once with earlytls, the request in the first flight
// when the session allows it, and waits for the next ticket.
func earlyVisit(ctx context.Context, addr string, cfg *tls.Config, r Real) (Visit, error) {
	var v Visit
	start := time.Now()
	nc, err := dialer(r.FastOpen).DialContext(ctx, "tcp", addr)
	if err != nil {
		return v, err
	}
	v.Connect = time.Since(start)
	c := earlytls.Client(nc, &earlytls.Config{TLS: cfg})
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fb := &firstByte{Conn: c}
	status, err := request(bufio.NewReader(fb), fb, http.MethodGet, addr)
	if err != nil {
		return v, err
	}
	v.FirstByte = fb.at.Sub(start)
	v.Status = fmt.Sprintf("%d %s", status, http.StatusText(status))
	v.Resumed = c.ConnectionState().DidResume
	v.Early = c.EarlyDataAccepted()
	return v, c.AwaitTicket(ctx)
}

// Flags registers -cacert and -servername, for -connect.
func (r *Real) Flags(fs *flag.FlagSet) {
	fs.StringVar(&r.CAFile, "cacert", "", "with -connect: trust the CA certificates "+
		"in this PEM `file` (default: the system's roots; -serve prints its CA's file)")
	fs.StringVar(&r.ServerName, "servername", "",
		"with -connect: the name to verify (default: the host of ADDR)")
}

// ServeMode returns a demo's -serve: Serve on addr with a fresh CA, whose
// certificate it writes to a file, and how to try it (try gets the file
// and the port).
func ServeMode(r *Real, try func(caFile, port string) string,
) func(context.Context, string, *timeline.Timeline) error {
	return func(ctx context.Context, addr string, tl *timeline.Timeline) error {
		ln, err := Listen(addr, *r, tl)
		if err != nil {
			return err
		}
		ca, err := certs.NewCA()
		if err != nil {
			ln.Close()
			return err
		}
		file, err := WriteCA(ca)
		if err != nil {
			ln.Close()
			return err
		}
		defer os.Remove(file)
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		tl.Note("server", "CA certificate in %s", file)
		tl.Note("server", "try: %s", try(file, port))
		return Serve(ctx, ln, ca, tl, *r)
	}
}

// ConnectMode returns a demo's -connect: Connect with r.
func ConnectMode(r *Real) func(context.Context, string, *timeline.Timeline) error {
	return func(ctx context.Context, addr string, tl *timeline.Timeline) error {
		_, err := Connect(ctx, addr, tl, *r)
		return err
	}
}

// Program makes a chapter-3 demo's command line: its scenario, -serve and
// -connect speaking rn, and the flags of the lab (into cfg) and of rn.
// try says how to reach -serve (it gets the CA file and the port). A user
// who is not root gets namespaces where the kernel allows (lab.Reexec).
// Add flags of the demo's own, then call Main.
func Program(name, about string, cfg *lab.Config, rn *Real,
	try func(caFile, port string) string,
	scenario func(context.Context, *timeline.Timeline) error) *demo.Program {
	lab.Reexec()
	p := demo.New(name, about, demo.Modes{Scenario: scenario,
		Serve: ServeMode(rn, try), Connect: ConnectMode(rn)})
	rn.Flags(p.Flags)
	lab.Flags(p.Flags, cfg)
	return p
}
