package ws

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DialOptions configure the client side of the opening handshake.
type DialOptions struct {
	// Header holds extra request fields: Origin, Authorization, Cookie.
	Header http.Header
	// Subprotocols to offer, most preferred first.
	Subprotocols []string
	// NetDial, if set, opens the TCP connection (a test can record the
	// bytes; a demo can add delay).
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig is used for wss:// URLs.
	TLSConfig *tls.Config
	Options
}

// Dial opens a WebSocket to a ws:// or wss:// URL (section 4.1): it
// connects, sends the upgrade request, and checks the server's answer.
// ctx bounds the connect and the handshake. On a refused handshake the
// *http.Response is returned with the error, its body read.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, *http.Response, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	secure := false
	switch u.Scheme {
	case "ws", "http":
	case "wss", "https":
		secure = true
	default:
		return nil, nil, fmt.Errorf("ws: scheme %q is not ws or wss", u.Scheme)
	}
	if u.Fragment != "" {
		return nil, nil, errors.New("ws: a WebSocket URL has no fragment")
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[bool]string{false: "80", true: "443"}[secure])
	}
	dial := opts.NetDial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	// ctx's deadline or cancellation interrupts the handshake's I/O.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	conn, resp, err := handshake(ctx, nc, u, secure, opts)
	if !stop() || err != nil {
		nc.Close()
		if err == nil || ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return nil, resp, err
	}
	nc.SetDeadline(time.Time{})
	return conn, resp, nil
}

func handshake(ctx context.Context, nc net.Conn, u *url.URL, secure bool,
	opts *DialOptions) (*Conn, *http.Response, error) {
	if secure {
		cfg := opts.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, err
		}
		nc = tc
	}
	var raw [16]byte
	rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	target := u.RequestURI()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"+
		"Sec-WebSocket-Version: 13\r\n", target, u.Host, key)
	if len(opts.Subprotocols) > 0 {
		fmt.Fprintf(&b, "Sec-WebSocket-Protocol: %s\r\n",
			strings.Join(opts.Subprotocols, ", "))
	}
	for k, vs := range opts.Header {
		for _, v := range vs {
			if strings.ContainsAny(k+v, "\r\n") {
				return nil, nil, fmt.Errorf("ws: invalid header field %q", k)
			}
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(nc, b.String()); err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet, URL: u})
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		return nil, resp, fmt.Errorf("ws: server answered %s: %s",
			resp.Status, strings.TrimSpace(string(body)))
	}
	switch {
	case !hasToken(resp.Header, "Upgrade", "websocket"):
		return nil, resp, errors.New("ws: 101 without Upgrade: websocket")
	case !hasToken(resp.Header, "Connection", "upgrade"):
		return nil, resp, errors.New("ws: 101 without Connection: Upgrade")
	case resp.Header.Get("Sec-WebSocket-Accept") != AcceptKey(key):
		return nil, resp, errBadAccept
	case resp.Header.Get("Sec-WebSocket-Extensions") != "":
		return nil, resp, errors.New("ws: server chose an extension we did not offer")
	}
	proto := resp.Header.Get("Sec-WebSocket-Protocol")
	if proto != "" && choose([]string{proto}, opts.Subprotocols) == "" {
		return nil, resp, fmt.Errorf("ws: server chose subprotocol %q we did not offer", proto)
	}
	return NewConn(nc, br, false, proto, &opts.Options), resp, nil
}
