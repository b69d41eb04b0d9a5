package ws

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// magic is the GUID a server appends to the client's key (section 1.3).
const magic = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for a client's
// Sec-WebSocket-Key: base64(SHA-1(key + magic)).
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + magic))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// AcceptOptions configure the server side of the opening handshake.
type AcceptOptions struct {
	// Subprotocols the server speaks, most preferred first; the first
	// one the client also offered is chosen.
	Subprotocols []string
	// CheckOrigin decides whether a browser page from another origin
	// may connect. Nil allows requests without an Origin (non-browser
	// clients) and those whose Origin's host equals the Host field.
	CheckOrigin func(r *http.Request) bool
	Options
}

// HandshakeError is an opening handshake refused, with the HTTP status
// the server answered.
type HandshakeError struct {
	Status int
	Reason string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("ws: handshake refused (%d): %s", e.Status, e.Reason)
}

// Accept checks an opening handshake (section 4.2.1), answers "101
// Switching Protocols", and returns the server side of the connection.
// It works on any server whose ResponseWriter can be hijacked: net/http's
// HTTP/1.1 server, or the hand-written h1 server through h1.Adapt. A
// request that is not a valid handshake gets 400 (403 for a refused
// origin, 405 for a method other than GET, 426 with the supported version
// for another version) and an error.
func Accept(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	if opts == nil {
		opts = &AcceptOptions{}
	}
	key, herr := checkRequest(r, opts)
	if herr != nil {
		if herr.Status == 426 {
			w.Header().Set("Sec-WebSocket-Version", "13")
			w.Header().Set("Upgrade", "websocket")
		}
		if herr.Status == 405 {
			w.Header().Set("Allow", "GET")
		}
		http.Error(w, herr.Reason, herr.Status)
		return nil, herr
	}
	proto := choose(opts.Subprotocols, r.Header.Values("Sec-WebSocket-Protocol"))
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "cannot take over this connection", 500)
		return nil, fmt.Errorf("ws: hijack: %w", err)
	}
	// The extensions a browser offers (permessage-deflate) are declined
	// by not naming them.
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
		"Connection: Upgrade\r\nSec-WebSocket-Accept: " + AcceptKey(key) + "\r\n"
	if proto != "" {
		resp += "Sec-WebSocket-Protocol: " + proto + "\r\n"
	}
	brw.WriteString(resp + "\r\n")
	if err := brw.Flush(); err != nil {
		nc.Close()
		return nil, err
	}
	return NewConn(nc, brw.Reader, true, proto, &opts.Options), nil
}

// checkRequest returns the client's key or why the request is refused.
func checkRequest(r *http.Request, opts *AcceptOptions) (string, *HandshakeError) {
	switch {
	case r.Method != http.MethodGet:
		return "", &HandshakeError{405, "a WebSocket handshake is a GET"}
	case !r.ProtoAtLeast(1, 1) || r.ProtoMajor != 1:
		return "", &HandshakeError{400, "a WebSocket handshake needs HTTP/1.1"}
	case !hasToken(r.Header, "Connection", "upgrade"):
		return "", &HandshakeError{400, "Connection does not include upgrade"}
	case !hasToken(r.Header, "Upgrade", "websocket"):
		return "", &HandshakeError{400, "Upgrade does not include websocket"}
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "", &HandshakeError{426, "only Sec-WebSocket-Version 13 is supported"}
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return "", &HandshakeError{400, "exactly one Sec-WebSocket-Key is needed"}
	}
	if b, err := base64.StdEncoding.DecodeString(keys[0]); err != nil || len(b) != 16 {
		return "", &HandshakeError{400, "Sec-WebSocket-Key is not 16 bytes in base64"}
	}
	check := opts.CheckOrigin
	if check == nil {
		check = sameOrigin
	}
	if !check(r) {
		return "", &HandshakeError{403, "origin not allowed"}
	}
	return keys[0], nil
}

// sameOrigin allows a request without Origin, or whose Origin's host is
// the Host the request was sent to: a page's own server.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// choose returns the first of ours that the client offered.
func choose(ours, offered []string) string {
	for _, p := range ours {
		for _, v := range offered {
			for item := range strings.SplitSeq(v, ",") {
				if strings.TrimSpace(item) == p {
					return p
				}
			}
		}
	}
	return ""
}

// hasToken reports whether a comma-separated field holds token,
// case-insensitively.
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for item := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(item), token) {
				return true
			}
		}
	}
	return false
}

var errBadAccept = errors.New("ws: Sec-WebSocket-Accept does not match the key")
