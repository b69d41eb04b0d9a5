package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"backend-protocols/02-protocols/http2/h2tap"
	"backend-protocols/internal/certs"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

// config sets the scenario's sizes and pace.
type config struct {
	Streams   int           // concurrent requests on one connection
	Repeat    int           // identical requests for HPACK
	BigKB     int           // response size for flow control
	Window    int           // the slow reader's stream window
	ReadChunk int           // the slow reader reads this much ...
	ReadEvery time.Duration // ... this often
	Slow      time.Duration // the slow response in the head-of-line race
	Fast      int           // fast requests racing it
	Ping      time.Duration // client's idle time before it pings
}

var defaults = config{Streams: 100, Repeat: 10, BigKB: 64, Window: 16 << 10,
	ReadChunk: 4 << 10, ReadEvery: 10 * time.Millisecond,
	Slow: 200 * time.Millisecond, Fast: 5, Ping: 100 * time.Millisecond}

// result is what the scenario measured.
type result struct {
	H2C struct {
		Proto              string
		Frames             int
		Flights, RoundTrip int
	}
	TLS struct {
		ALPN, Proto     string
		ClientReset     bool // RST_STREAM CANCEL from the client
		HandlerCanceled bool // and the server's handler saw it
		PingAcked       bool
		GoAway          bool
	}
	Mux struct {
		Responses, Streams, Conns, TapConns, Together int
	}
	HPACK struct {
		Request, Response []int // header block sizes, in order
		RequestFields     int   // uncompressed size of one request's headers
		SizeUpdates       int   // dynamic table size updates in request blocks
	}
	Flow struct {
		Window       int // INITIAL_WINDOW_SIZE the client announced
		BeforeUpdate int // bytes sent before the first WINDOW_UPDATE
		Updates      int // WINDOW_UPDATEs on the stream
		Overrun      int // most bytes ever sent beyond the window (0)
		Total        int
		Wait         time.Duration // server's wait for the first update
		Blocked      time.Duration // server's longest Write
	}
	HOL []holRow
}

// tapped is the frame tap in front of a server, with the recorder of
// what it saw and a mark: the frames of the current step are those after
// it.
type tapped struct {
	*h2tap.Tap
	rec    *h2tap.Recorder
	mark   int
	closed int // connections waited for with waitClosed
}

func startTap(tl *timeline.Timeline, target string, serverTLS, upstream *tls.Config) (*tapped, error) {
	t := &tapped{rec: h2tap.NewRecorder(&h2tap.Printer{TL: tl})}
	tap, err := h2tap.Listen("127.0.0.1:0", h2tap.Options{Target: target,
		TLS: serverTLS, UpstreamTLS: upstream, MaxData: 24,
		OnFrame: t.rec.OnFrame, OnConn: t.rec.OnConn})
	if err != nil {
		return nil, err
	}
	t.Tap = tap
	return t, nil
}

// reset starts a new step.
func (t *tapped) reset() { t.mark = t.rec.Len() }

// all returns the frames of the current step.
func (t *tapped) all() []h2tap.Frame { return t.rec.Since(t.mark) }

func (t *tapped) printing(on bool) { t.rec.Printing(on) }

// waitClosed waits until the tap has seen one more connection end, so
// every frame of it has been printed.
func (t *tapped) waitClosed(ctx context.Context) error {
	t.closed++
	if err := t.rec.WaitClosed(ctx, t.closed); err != nil {
		return fmt.Errorf("the connection through the tap did not close: %w", err)
	}
	return nil
}

// waitFrame waits until the tap has seen a frame of this step for which
// ok is true.
func (t *tapped) waitFrame(ctx context.Context, ok func(h2tap.Frame) bool) error {
	_, err := t.rec.Wait(ctx, t.mark, ok)
	return err
}

// h2cTransport speaks HTTP/2 without TLS, with prior knowledge.
func h2cTransport() *http.Transport {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return tr
}

func get(ctx context.Context, hc *http.Client, url string, hdr http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp, body, err
}

func scenario(ctx context.Context, tl *timeline.Timeline, cfg config) (res result, err error) {
	srv := newServer()
	hs, err := srv.httpServer(nil)
	if err != nil {
		return res, err
	}
	run, err := demo.StartHTTP(ctx, hs, "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer run.Close()
	tap, err := startTap(tl, run.Addr, nil, nil)
	if err != nil {
		return res, err
	}
	defer tap.Close()
	tl.Note("server", "net/http on %s speaks HTTP/1.1 and h2c; "+
		"a frame tap on %s relays to it and decodes every frame",
		run.Addr, tap.Addr())

	steps := []struct {
		name string
		f    func() error
	}{
		{"h2c", func() error { return stepH2C(ctx, tl, &res, tap) }},
		{"TLS", func() error { return stepTLS(ctx, tl, &res, srv, cfg) }},
		{"multiplexing", func() error { return stepMux(ctx, tl, &res, srv, tap, cfg) }},
		{"HPACK", func() error { return stepHPACK(ctx, tl, &res, tap, cfg) }},
		{"flow control", func() error { return stepFlow(ctx, tl, &res, srv, tap, cfg) }},
		{"head of line", func() error { return stepHOL(ctx, tl, &res, srv, run.Addr, cfg) }},
	}
	for _, s := range steps {
		if err := s.f(); err != nil {
			return res, fmt.Errorf("%s: %w", s.name, err)
		}
		tl.Printf("")
	}
	return res, nil
}

// stepH2C: one GET over h2c, every frame printed, then as a ladder.
func stepH2C(ctx context.Context, tl *timeline.Timeline, res *result, tap *tapped) error {
	tl.Printf("== one GET over h2c (HTTP/2 in clear text, prior knowledge): every frame")
	tap.reset()
	tap.printing(true)
	tr := h2cTransport()
	resp, body, err := get(ctx, &http.Client{Transport: tr}, "http://"+tap.Addr().String()+"/hello", nil)
	tr.CloseIdleConnections()
	if err != nil {
		return err
	}
	if err := tap.waitClosed(ctx); err != nil {
		return err
	}
	tap.printing(false)
	res.H2C.Proto = resp.Proto
	tl.Note("client", "%s %q", resp.Proto, body)
	frames := tap.all()
	res.H2C.Frames = len(frames)
	tl.Printf("\nthe same frames as flights (a flight is what one side sends before it hears back):")
	res.H2C.Flights, res.H2C.RoundTrip = ladder(tl, frames)
	for _, f := range frames {
		if f.Dir == h2tap.ServerToClient {
			break
		}
		if f.Type() == http2.FrameHeaders {
			tl.Printf("with prior knowledge the request rode in the client's first flight, " +
				"with the preface: it did not wait for the server's SETTINGS")
			break
		}
	}
	return nil
}

// stepTLS: HTTPS through a TLS-terminating tap: ALPN picks h2; a request
// cancelled by the client (RST_STREAM), an idle connection pinged (PING),
// and the server shutting down (GOAWAY).
func stepTLS(ctx context.Context, tl *timeline.Timeline, res *result, srv *server, cfg config) error {
	tl.Printf("== HTTPS: ALPN chooses h2 in the TLS handshake; RST_STREAM, PING, GOAWAY")
	ca, err := certs.NewCA()
	if err != nil {
		return err
	}
	hs, err := srv.httpServer(ca)
	if err != nil {
		return err
	}
	run, err := demo.StartHTTP(ctx, hs, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer run.Close()
	tapCfg, err := ca.ServerConfig()
	if err != nil {
		return err
	}
	tap, err := startTap(tl, run.Addr, tapCfg, ca.ClientConfig())
	if err != nil {
		return err
	}
	defer tap.Close()
	tl.Note("server", "HTTPS on %s with a certificate from an in-memory CA; "+
		"the tap on %s holds one from the same CA",
		run.Addr, tap.Addr())
	tap.printing(true)
	tr := &http.Transport{TLSClientConfig: ca.ClientConfig(), ForceAttemptHTTP2: true,
		HTTP2: &http.HTTP2Config{SendPingTimeout: cfg.Ping}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	base := "https://" + tap.Addr().String()
	resp, body, err := get(ctx, hc, base+"/hello", nil)
	if err != nil {
		return err
	}
	res.TLS.ALPN, res.TLS.Proto = resp.TLS.NegotiatedProtocol, resp.Proto
	tl.Note("client", "TLS chose ALPN %q; %s %q", res.TLS.ALPN, resp.Proto, body)

	tl.Printf("-- the client gives up on a request: RST_STREAM")
	drain(srv.started)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, "GET", base+"/wait", nil)
	wresp, err := hc.Do(req)
	if err != nil {
		return err
	}
	if err := waitFor(ctx, srv.started, "/wait"); err != nil {
		return err
	}
	tl.Note("client", "cancels /wait after its headers arrived")
	cancel()
	wresp.Body.Close()
	select {
	case <-srv.cancelled:
		res.TLS.HandlerCanceled = true
		tl.Note("server", "the /wait handler's context is done: it stops working for nobody")
	case <-time.After(5 * time.Second):
		return errors.New("the server's handler never saw the cancellation")
	}
	isReset := func(f h2tap.Frame) bool {
		return f.Dir == h2tap.ClientToServer && f.Type() == http2.FrameRSTStream &&
			f.ErrCode == http2.ErrCodeCancel
	}
	if err := tap.waitFrame(ctx, isReset); err != nil {
		return fmt.Errorf("RST_STREAM CANCEL: %w", err)
	}
	res.TLS.ClientReset = true

	tl.Printf("-- the connection sits idle for %v: the client checks it with a PING", cfg.Ping)
	isPingAck := func(f h2tap.Frame) bool {
		return f.Type() == http2.FramePing && f.Has(http2.FlagPingAck)
	}
	if err := tap.waitFrame(ctx, isPingAck); err != nil {
		return fmt.Errorf("PING: %w", err)
	}
	res.TLS.PingAcked = true

	tl.Printf("-- the server shuts down gracefully: GOAWAY")
	closed := make(chan error, 1)
	go func() { closed <- run.Close() }()
	isGoAway := func(f h2tap.Frame) bool { return f.Type() == http2.FrameGoAway }
	if err := tap.waitFrame(ctx, isGoAway); err != nil {
		return fmt.Errorf("GOAWAY: %w", err)
	}
	res.TLS.GoAway = true
	tap.printing(false)
	goaway := time.Now()
	if err := <-closed; err != nil {
		return err
	}
	if err := tap.waitClosed(ctx); err != nil {
		return err
	}
	pings := 0
	for _, f := range tap.all() {
		if f.Type() == http2.FramePing && !f.Has(http2.FlagPingAck) && f.At.After(goaway) {
			pings++
		}
	}
	tl.Note("server", "closed the connection %s after its GOAWAY (net/http's grace for "+
		"frames in flight); the idle client pinged it %d more times meanwhile",
		timeline.Ms(time.Since(goaway)), pings)
	return nil
}

// stepMux: Streams requests at once on one connection; the server holds
// each until all are in, so they really are in flight together.
func stepMux(ctx context.Context, tl *timeline.Timeline, res *result, srv *server,
	tap *tapped, cfg config) error {
	n := cfg.Streams
	tl.Printf("== multiplexing: %d requests at once on one TCP connection", n)
	tr := h2cTransport()
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	base := "http://" + tap.Addr().String()
	// One request first opens the connection; the burst then shares it.
	conns, tapConns := srv.conns.Load(), tap.Conns()
	if _, _, err := get(ctx, hc, base+"/hello", nil); err != nil {
		return err
	}
	tap.reset()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range n {
		wg.Go(func() {
			_, body, err := get(ctx, hc, fmt.Sprintf("%s/together?n=%d", base, n), nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = cmp(firstErr, err)
				return
			}
			res.Mux.Responses++
			k, _ := strconv.Atoi(strings.TrimSpace(string(body)))
			res.Mux.Together = max(res.Mux.Together, k)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return firstErr
	}
	res.Mux.Conns = int(srv.conns.Load() - conns)
	res.Mux.TapConns = tap.Conns() - tapConns
	ids := map[uint32]bool{}
	var lo, hi uint32
	for _, f := range of(tap.all(), h2tap.ClientToServer, http2.FrameHeaders) {
		if p, _ := f.Field(":path"); strings.HasPrefix(p, "/together") {
			if len(ids) == 0 || f.StreamID() < lo {
				lo = f.StreamID()
			}
			hi = max(hi, f.StreamID())
			ids[f.StreamID()] = true
		}
	}
	res.Mux.Streams = len(ids)
	tl.Note("client", "%d responses in %s", res.Mux.Responses, timeline.Ms(elapsed))
	tl.Note("tap", "%d request streams (ids %d to %d, odd: client-initiated) on %d TCP connection(s)",
		res.Mux.Streams, lo, hi, res.Mux.TapConns)
	tl.Note("server", "%d TCP connection(s) accepted; %d handlers were running at the same moment",
		res.Mux.Conns, res.Mux.Together)
	var order []string
	for _, f := range tap.all() {
		if f.Dir == h2tap.ServerToClient && f.StreamID() != 0 && len(order) < 16 {
			order = append(order, fmt.Sprintf("%c#%d", f.Type().String()[0], f.StreamID()))
		}
	}
	tl.Printf("first response frames, in wire order (H=HEADERS, D=DATA): %s ...",
		strings.Join(order, " "))
	return nil
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// stepHPACK: the same request Repeat times on one connection; the header
// blocks shrink once the dynamic table holds the fields.
func stepHPACK(ctx context.Context, tl *timeline.Timeline, res *result, tap *tapped, cfg config) error {
	tl.Printf("== HPACK: the same request %d times on one connection", cfg.Repeat)
	tr := h2cTransport()
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	hdr := http.Header{
		"User-Agent":    {"http2-demo/1.0 (backend-protocols; Go net/http)"},
		"Accept":        {"text/plain, application/json;q=0.9"},
		"Authorization": {"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl"},
		"Cookie":        {"session=7f3a9c2e51b04d8e; theme=dark"},
	}
	tap.reset()
	for range cfg.Repeat {
		if _, _, err := get(ctx, hc, "http://"+tap.Addr().String()+"/hello", hdr); err != nil {
			return err
		}
	}
	frames := tap.all()
	notes := map[int]string{}
	for i, f := range of(frames, h2tap.ClientToServer, http2.FrameHeaders) {
		res.HPACK.Request = append(res.HPACK.Request, f.BlockLen)
		res.HPACK.RequestFields = f.FieldBytes()
		for _, n := range f.TableSizes {
			notes[i] = fmt.Sprintf("opens with a dynamic table size update to %d, "+
				"answering the server's SETTINGS_HEADER_TABLE_SIZE", n)
			res.HPACK.SizeUpdates++
		}
	}
	for _, f := range of(frames, h2tap.ServerToClient, http2.FrameHeaders) {
		res.HPACK.Response = append(res.HPACK.Response, f.BlockLen)
	}
	if len(res.HPACK.Request) != cfg.Repeat || len(res.HPACK.Response) != cfg.Repeat {
		return fmt.Errorf("got %d request and %d response header blocks, want %d each",
			len(res.HPACK.Request), len(res.HPACK.Response), cfg.Repeat)
	}
	tl.Printf("%10s  %14s  %14s", "request", "request HPACK", "response HPACK")
	for i := range cfg.Repeat {
		tl.Printf("%s", strings.TrimRight(fmt.Sprintf("%10d  %12d B  %12d B  %s",
			i+1, res.HPACK.Request[i], res.HPACK.Response[i], notes[i]), " "))
	}
	first, last := res.HPACK.Request[0], res.HPACK.Request[cfg.Repeat-1]
	tl.Printf("the request's %d bytes of header fields (RFC 7541 sizes) took %d bytes the first time "+
		"and %d bytes the %dth: every field is now an index into the dynamic table",
		res.HPACK.RequestFields, first, last, cfg.Repeat)
	return nil
}

// stepFlow: a slow reader with a small stream window. The server sends
// until the window is full, stops, and resumes with each WINDOW_UPDATE.
func stepFlow(ctx context.Context, tl *timeline.Timeline, res *result, srv *server,
	tap *tapped, cfg config) error {
	tl.Printf("== flow control: a %d KiB response to a client that reads %d KiB every %v "+
		"with a %d KiB stream window", cfg.BigKB, cfg.ReadChunk>>10, cfg.ReadEvery, cfg.Window>>10)
	tap.reset()
	srv.blocked.Store(0)
	tr := h2cTransport()
	tr.HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerStream: cfg.Window}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, "GET",
		fmt.Sprintf("http://%s/big?kb=%d", tap.Addr(), cfg.BigKB), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf := make([]byte, cfg.ReadChunk)
	tick := time.NewTicker(cfg.ReadEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		n, err := io.ReadFull(resp.Body, buf)
		res.Flow.Total += n
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if res.Flow.Total != cfg.BigKB<<10 {
		return fmt.Errorf("got %d bytes, want %d", res.Flow.Total, cfg.BigKB<<10)
	}
	res.Flow.Blocked = time.Duration(srv.blocked.Load())
	flowReport(tl, res, tap.all())
	return nil
}

// flowReport replays the frames of the flow-control step: it checks that
// the server never sent beyond the window the client granted, and prints
// the DATA runs between WINDOW_UPDATEs.
func flowReport(tl *timeline.Timeline, res *result, frames []h2tap.Frame) {
	var stream uint32
	for _, f := range frames {
		switch {
		case f.Dir == h2tap.ClientToServer && f.Type() == http2.FrameSettings && !f.Has(http2.FlagSettingsAck):
			for _, s := range f.Settings {
				if s.ID == http2.SettingInitialWindowSize {
					res.Flow.Window = int(s.Val)
				}
			}
		case f.Dir == h2tap.ClientToServer && f.Type() == http2.FrameHeaders:
			stream = f.StreamID()
		}
	}
	const shown = 3 // WINDOW_UPDATEs printed; the rest are counted
	allowed, sent := res.Flow.Window, 0
	runFrames, runBytes := 0, 0
	var lastData time.Time
	line := func(at time.Time, who, format string, args ...any) {
		tl.Printf("%10s  %-18s %s", timeline.Stamp(at.Sub(tl.Start())), who,
			fmt.Sprintf(format, args...))
	}
	flush := func() {
		if runFrames > 0 {
			line(lastData, "server -> client", "DATA x%d stream=%d, %d bytes: %d of %d window bytes used",
				runFrames, stream, runBytes, sent, allowed)
		}
		runFrames, runBytes = 0, 0
	}
	for _, f := range frames {
		if f.StreamID() != stream || stream == 0 {
			continue
		}
		switch {
		case f.Dir == h2tap.ServerToClient && f.Type() == http2.FrameData:
			sent += int(f.Header.Length)
			res.Flow.Overrun = max(res.Flow.Overrun, sent-allowed)
			runFrames++
			runBytes += int(f.Header.Length)
			lastData = f.At
		case f.Dir == h2tap.ClientToServer && f.Type() == http2.FrameWindowUpdate:
			if res.Flow.Updates == 0 {
				res.Flow.BeforeUpdate = sent
				res.Flow.Wait = f.At.Sub(lastData)
			}
			if res.Flow.Updates < shown {
				flush()
			}
			res.Flow.Updates++
			allowed += int(f.Increment)
			if res.Flow.Updates <= shown {
				line(f.At, "client -> server", "WINDOW_UPDATE stream=%d +%d (the reader took %d bytes)",
					stream, f.Increment, f.Increment)
			}
		}
	}
	if res.Flow.Updates > shown {
		tl.Printf("%10s  %-18s (%d more WINDOW_UPDATEs, each answered by DATA)", "", "",
			res.Flow.Updates-shown)
	} else {
		flush()
	}
	tl.Printf("the server filled the %d-byte window, then waited %s for the first WINDOW_UPDATE; "+
		"%d updates later all %d bytes were through; its longest Write blocked %s; "+
		"bytes ever sent beyond the window: %d",
		res.Flow.Window, timeline.Ms(res.Flow.Wait), res.Flow.Updates, res.Flow.Total,
		timeline.Ms(res.Flow.Blocked), max(res.Flow.Overrun, 0))
}

// stepHOL: one slow response and some fast ones, on one connection each
// way: HTTP/2 streams, HTTP/1.1 through a one-connection client, and
// HTTP/1.1 pipelined by hand.
func stepHOL(ctx context.Context, tl *timeline.Timeline, res *result, srv *server,
	addr string, cfg config) error {
	tl.Printf("== head of line: one %v response, then %d fast requests, on one connection",
		cfg.Slow, cfg.Fast)
	h1 := &http.Transport{MaxConnsPerHost: 1, Protocols: new(http.Protocols)}
	h1.Protocols.SetHTTP1(true)
	rows := []struct {
		name string
		run  func() (holRow, error)
	}{
		{"HTTP/2, one connection", func() (holRow, error) {
			return holClient(ctx, srv, "http://"+addr, h2cTransport(), cfg.Slow, cfg.Fast)
		}},
		{"HTTP/1.1, one connection", func() (holRow, error) {
			return holClient(ctx, srv, "http://"+addr, h1, cfg.Slow, cfg.Fast)
		}},
		{"HTTP/1.1, pipelined", func() (holRow, error) {
			return holPipelined(ctx, srv, addr, cfg.Slow, cfg.Fast)
		}},
	}
	tl.Printf("%-26s %8s %12s %12s %6s", "", "slow", "fast p50", "fast max", "conns")
	for _, r := range rows {
		row, err := r.run()
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		row.Name = r.name
		res.HOL = append(res.HOL, row)
		s := row.FastSummary()
		tl.Printf("%-26s %8s %12s %12s %6d", r.name, timeline.Ms(row.Slow),
			timeline.Ms(s.P50), timeline.Ms(s.Max), row.Conns)
	}
	tl.Printf("on HTTP/2 the fast responses overtake the slow one on the same connection; " +
		"on HTTP/1.1 they wait behind it, queued in the client or, pipelined, in the server")
	return nil
}
