package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"backend-protocols/02-protocols/osi/layers"
	"backend-protocols/internal/demo"
	"backend-protocols/internal/netns"
	"backend-protocols/internal/timeline"
)

// result is what the scenario built and saw, for the tests.
type result struct {
	App       []byte // the HTTP request as net/http wrote it
	Built     []byte // the Ethernet frame built by hand
	Captured  []byte // the frame captured on the server's interface, if any
	NoCapture string // why there was no capture
	Rows      []row
	Equal     bool // Built and Captured are the same bytes
	ARP       int  // ARP frames seen before the first TCP segment
	Partial   bool // the kernel left a checksum to the (absent) card
}

// row compares one field of the hand-built frame with the captured one.
type row struct {
	Field           string
	Built, Captured string
	Source          string // where the hand-built value came from
}

// ioTimeout bounds the request and the capture.
const ioTimeout = 5 * time.Second

// Addresses of the two namespaces' interfaces.
var (
	clientAddr = netip.MustParsePrefix("10.0.0.1/24")
	serverAddr = netip.MustParsePrefix("10.0.0.2/24")
)

func scenario(ctx context.Context, tl *timeline.Timeline) (*result, error) {
	if err := netns.Available(); err != nil {
		tl.Note("osi", "no packet capture here (%v): the hand-built frame only", err)
		return handOnly(ctx, tl, err.Error())
	}
	return withCapture(ctx, tl)
}

// recorder keeps the bytes written to a connection: the application
// layer's exact output.
type recorder struct {
	net.Conn
	mu  *sync.Mutex
	out *bytes.Buffer
}

func (r recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	if r.out.Len() == 0 {
		r.out.Write(b) // the first write: the request
	}
	r.mu.Unlock()
	return r.Conn.Write(b)
}

// get sends GET /hello with net/http over dial and returns the request's
// bytes, the connection's two addresses and the response body.
func get(ctx context.Context, url string,
	dial func(context.Context, string, string) (net.Conn, error)) (
	app []byte, local, remote netip.AddrPort, body string, err error) {
	var mu sync.Mutex
	var out bytes.Buffer
	tr := &http.Transport{DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
		c, err := dial(ctx, n, a)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		local = c.LocalAddr().(*net.TCPAddr).AddrPort()
		remote = c.RemoteAddr().(*net.TCPAddr).AddrPort()
		mu.Unlock()
		return recorder{Conn: c, mu: &mu, out: &out}, nil
	}}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, local, remote, "", err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, local, remote, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	return bytes.Clone(out.Bytes()), local, remote, string(b), err
}

// serveHello serves "hello" on ln until the returned stop is called.
func serveHello(ctx context.Context, ln net.Listener) (stop func()) {
	hs := &http.Server{Handler: http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello\n") })}
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- demo.ServeHTTP(ctx, hs, ln) }()
	return func() { cancel(); <-served }
}

// defaultTTL reads net.ipv4.ip_default_ttl from /proc/sys, as seen by the
// calling thread's namespace.
func defaultTTL(read func(string) (string, error)) (uint8, error) {
	s, err := read("net.ipv4.ip_default_ttl")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return uint8(n), err
}

// withCapture runs the request between two network namespaces joined by a
// veth pair, captures it on the server's interface and compares.
func withCapture(ctx context.Context, tl *timeline.Timeline) (*result, error) {
	res := &result{}
	cli, err := netns.New("client")
	if err != nil {
		return res, err
	}
	defer cli.Close()
	srv, err := netns.New("server")
	if err != nil {
		return res, err
	}
	defer srv.Close()
	if err := netns.Veth(cli, "eth0", srv, "eth0", 1500); err != nil {
		return res, err
	}
	for _, h := range []struct {
		ns *netns.NS
		p  netip.Prefix
	}{{cli, clientAddr}, {srv, serverAddr}} {
		if err := h.ns.AddAddr("eth0", h.p); err != nil {
			return res, err
		}
		// No checksum or segmentation offload: the frames on the cable
		// are the real thing, as a NIC would send them.
		if err := h.ns.DisableOffloads("eth0"); err != nil {
			return res, err
		}
	}
	tl.Note("osi", "namespaces client (%v) and server (%v) joined by a veth cable",
		clientAddr, serverAddr)

	ln, err := srv.Listen("tcp", netip.AddrPortFrom(serverAddr.Addr(), 80).String())
	if err != nil {
		return res, err
	}
	defer serveHello(ctx, ln)()

	capt, err := startCapture(srv, "eth0")
	if err != nil {
		return res, fmt.Errorf("packet socket: %w", err)
	}
	defer capt.Stop()
	tl.Note("server", "capturing every frame on eth0 with an AF_PACKET socket")

	url := "http://" + serverAddr.Addr().String() + "/hello"
	app, local, remote, body, err := get(ctx, url, cli.DialContext)
	if err != nil {
		return res, err
	}
	res.App = app
	tl.Send("client", "server", "GET /hello")
	tl.Send("server", "client", "%q", body)

	var syn, synack, request *layers.Frame
	var reqFrame captured
	ok := capt.waitFor(ioTimeout, func(frames []captured) bool {
		syn, synack, request, res.ARP = nil, nil, nil, 0
		for _, c := range frames {
			f, err := layers.Decode(c.Frame)
			if err != nil {
				if f != nil && f.Eth.Type == layers.EtherTypeARP && syn == nil {
					res.ARP++
				}
				continue
			}
			toServer := f.TCP.DstPort == 80
			switch {
			case toServer && f.TCP.Flags == layers.SYN:
				syn = f
			case !toServer && f.TCP.Flags == layers.SYN|layers.ACK:
				synack = f
			case toServer && len(f.Payload) > 0 && request == nil:
				request, reqFrame = f, c
			}
		}
		return syn != nil && synack != nil && request != nil
	})
	if !ok {
		return res, fmt.Errorf("the capture never saw the handshake and the request "+
			"(%d frames)", len(capt.Frames()))
	}
	res.Captured, res.Partial = reqFrame.Frame, reqFrame.CsumNotReady
	tl.Note("server", "captured %d frames: %d ARP, SYN, SYN-ACK, ..., the request in "+
		"a %d-byte frame", len(capt.Frames()), res.ARP, len(res.Captured))

	// What the client knows without looking at the wire.
	cifi, err := cli.Interface("eth0")
	if err != nil {
		return res, err
	}
	sifi, err := srv.Interface("eth0")
	if err != nil {
		return res, err
	}
	ttl, err := defaultTTL(cli.ReadSysctl)
	if err != nil {
		return res, err
	}
	k := known{SrcMAC: cifi.HardwareAddr, DstMAC: sifi.HardwareAddr,
		Local: local, Remote: remote, TTL: ttl, App: app}
	// What the kernel chose: the sequence numbers follow from the
	// handshake; the rest is copied from the captured request.
	kc := kernel{Seq: syn.TCP.Seq + 1, Ack: synack.TCP.Seq + 1, ID: request.IP.ID,
		Window: request.TCP.Window, Options: request.TCP.Options}
	built, frame, err := build(k, kc)
	if err != nil {
		return res, err
	}
	res.Built = frame
	res.Equal = bytes.Equal(frame, res.Captured)
	res.Rows = compare(built, request)
	if !bytes.Equal(built.Payload, request.Payload) {
		res.Rows[len(res.Rows)-1].Captured += " (other bytes)"
	}
	show(tl, res, built)
	return res, nil
}

// known is what the client side knows before anything is sent.
type known struct {
	SrcMAC, DstMAC net.HardwareAddr
	Local, Remote  netip.AddrPort
	TTL            uint8
	App            []byte
}

// kernel holds the values the kernel picks per packet or connection.
type kernel struct {
	Seq, Ack uint32
	ID       uint16
	Window   uint16
	Options  []byte
}

// build makes the request's frame by hand.
func build(k known, kc kernel) (*layers.Frame, []byte, error) {
	f := &layers.Frame{
		Eth: layers.Ethernet{Dst: k.DstMAC, Src: k.SrcMAC, Type: layers.EtherTypeIPv4},
		// DF: Linux sets it on TCP for path MTU discovery (RFC 1191).
		IP: layers.IPv4{ID: kc.ID, Flags: layers.FlagDF, TTL: k.TTL,
			Src: k.Local.Addr().Unmap(), Dst: k.Remote.Addr().Unmap()},
		TCP: layers.TCP{SrcPort: k.Local.Port(), DstPort: k.Remote.Port(),
			Seq: kc.Seq, Ack: kc.Ack, Flags: layers.PSH | layers.ACK,
			Window: kc.Window, Options: kc.Options},
		Payload: k.App,
	}
	b, err := f.Build()
	return f, b, err
}

// compare lists the fields of the hand-built and captured frames side by
// side, with where each hand-built value came from.
func compare(b, c *layers.Frame) []row {
	const (
		ifaces   = "the interfaces' addresses (ARP)"
		sock     = "the socket's addresses"
		protos   = "the protocols in use"
		hs       = "ISN+1, from the captured handshake"
		copied   = "the kernel's choice, copied"
		computed = "computed over the bytes"
	)
	s := fmt.Sprint
	hex16 := func(v uint16) string { return fmt.Sprintf("%#04x", v) }
	flags := map[uint8]string{0: "none", layers.FlagDF: "DF", layers.FlagMF: "MF"}
	return []row{
		{"Ethernet destination", b.Eth.Dst.String(), c.Eth.Dst.String(), ifaces},
		{"Ethernet source", b.Eth.Src.String(), c.Eth.Src.String(), ifaces},
		{"EtherType", hex16(b.Eth.Type), hex16(c.Eth.Type), protos},
		{"IPv4 header length", s(b.IP.HeaderLen()), s(c.IP.HeaderLen()), protos},
		{"IPv4 total length", s(b.IP.TotalLen), s(c.IP.TotalLen), computed},
		{"IPv4 identification", s(b.IP.ID), s(c.IP.ID), copied},
		{"IPv4 flags", flags[b.IP.Flags], flags[c.IP.Flags], "DF: path MTU discovery"},
		{"IPv4 TTL", s(b.IP.TTL), s(c.IP.TTL), "sysctl net.ipv4.ip_default_ttl"},
		{"IPv4 protocol", s(b.IP.Protocol), s(c.IP.Protocol), protos},
		{"IPv4 checksum", hex16(b.IP.Checksum), hex16(c.IP.Checksum), computed},
		{"IPv4 source", s(b.IP.Src), s(c.IP.Src), sock},
		{"IPv4 destination", s(b.IP.Dst), s(c.IP.Dst), sock},
		{"TCP source port", s(b.TCP.SrcPort), s(c.TCP.SrcPort), sock},
		{"TCP destination port", s(b.TCP.DstPort), s(c.TCP.DstPort), sock},
		{"TCP sequence", s(b.TCP.Seq), s(c.TCP.Seq), hs},
		{"TCP acknowledgment", s(b.TCP.Ack), s(c.TCP.Ack), hs},
		{"TCP header length", s(b.TCP.HeaderLen()), s(c.TCP.HeaderLen()), "20 + the options"},
		{"TCP flags", layers.FlagString(b.TCP.Flags), layers.FlagString(c.TCP.Flags), protos},
		{"TCP window", s(b.TCP.Window), s(c.TCP.Window), copied},
		{"TCP checksum", hex16(b.TCP.Checksum), hex16(c.TCP.Checksum), computed},
		{"TCP options", fmt.Sprintf("% x", b.TCP.Options), fmt.Sprintf("% x", c.TCP.Options), copied},
		{"TCP data", fmt.Sprintf("%d bytes", len(b.Payload)), fmt.Sprintf("%d bytes", len(c.Payload)), "net/http's request"},
	}
}

func show(tl *timeline.Timeline, res *result, f *layers.Frame) {
	tl.Printf("")
	tl.Dump("application layer: the HTTP request net/http wrote", res.App)
	seg := f.TCP.HeaderLen() + len(f.Payload)
	tl.Printf("")
	tl.Printf("encapsulation:")
	tl.Printf("  HTTP request   %4d bytes", len(f.Payload))
	tl.Printf("  TCP segment    %4d = %d-byte header + %d", seg, f.TCP.HeaderLen(), len(f.Payload))
	tl.Printf("  IPv4 packet    %4d = %d-byte header + %d", f.IP.TotalLen, f.IP.HeaderLen(), seg)
	tl.Printf("  Ethernet frame %4d = %d-byte header + %d (a NIC adds a 4-byte FCS; a veth has none)",
		len(res.Built), layers.EthernetLen, f.IP.TotalLen)
	tl.Printf("")
	tl.Printf("the frame built by hand:")
	var sb strings.Builder
	layers.Dump(&sb, res.Built, f.Sections())
	tl.Printf("%s", strings.TrimRight(sb.String(), "\n"))
	if res.Captured == nil {
		return
	}
	tl.Printf("")
	tl.Printf("%-21s %-17s %-17s %s", "field", "built by hand", "captured", "the hand-built value is")
	for _, r := range res.Rows {
		b, c, mark := r.Built, r.Captured, ""
		if b != c {
			mark = "  <- differs"
		}
		if len(b) > 17 { // the options: shown in full below
			b, c = b[:14]+"...", c[:min(len(c), 14)]+"..."
		}
		tl.Printf("%-21s %-17s %-17s %s%s", r.Field, b, c, r.Source, mark)
	}
	tl.Printf("TCP options: %s", layers.OptionString(f.TCP.Options))
	tl.Printf("")
	if res.Equal {
		tl.Printf("the hand-built frame and the captured one are the same %d bytes",
			len(res.Built))
	} else {
		tl.Printf("the frames differ")
	}
	if res.Partial {
		tl.Printf("(the kernel marked the captured checksum as left for the card to fill)")
	}
}

// handOnly builds the frame for a request on loopback, where this process
// cannot capture: the kernel's choices are shown as zero.
func handOnly(ctx context.Context, tl *timeline.Timeline, why string) (*result, error) {
	res := &result{NoCapture: why}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer serveHello(ctx, ln)()
	var d net.Dialer
	app, local, remote, _, err := get(ctx, "http://"+ln.Addr().String()+"/hello",
		d.DialContext)
	if err != nil {
		return res, err
	}
	res.App = app
	ttl, err := defaultTTL(func(key string) (string, error) {
		b, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
		return string(b), err
	})
	if err != nil {
		ttl = 64 // not Linux: the usual default
	}
	// Loopback's "Ethernet" header has zero addresses.
	zero := make(net.HardwareAddr, 6)
	f, frame, err := build(known{SrcMAC: zero, DstMAC: zero, Local: local,
		Remote: remote, TTL: ttl, App: app}, kernel{})
	if err != nil {
		return res, err
	}
	res.Built = frame
	tl.Note("osi", "sequence, acknowledgment, IP id and window are the kernel's; "+
		"shown as 0 without a capture")
	show(tl, res, f)
	if errors.Is(ctx.Err(), context.Canceled) {
		return res, ctx.Err()
	}
	return res, nil
}
