package wire

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"backend-protocols/03-https/tls13-0rtt/earlytls"
)

// Secrets looks up secrets in a key log; *KeyLog implements it.
type Secrets interface {
	Secret(clientRandom []byte, label string) []byte
	All(label string) [][]byte
}

// tlsConn follows both directions of one TLS connection.
type tlsConn struct {
	keys         Secrets
	clientRandom []byte
	serverRandom []byte
	version      uint16 // from the ServerHello; 0 until then
	suite        uint16
	master       []byte     // TLS 1.2, once known
	dirs         [2]*tlsDir // [0] client to server, [1] server to client
}

// tlsDir is one direction's record and handshake parsing state.
type tlsDir struct {
	client bool
	buf    []byte // stream bytes not yet parsed into records
	hs     []byte // handshake bytes not yet parsed into messages
	bad    bool   // not TLS (or lost track): name bytes by size only

	// TLS 1.3: the traffic secrets in the order this direction uses
	// them, the protector of each (made once the secrets are known), and
	// the index of the current one.
	labels []string
	prots  []*earlytls.Protector
	cur    int
	// early opens early data sent before the ServerHello named the
	// suite; its suite is found by trial.
	early      *earlytls.Protector
	earlySuite uint16

	// TLS 1.2: set by ChangeCipherSpec.
	gcm   *gcm12
	ccs   bool
	trial bool // the master secret is not known yet: try them all
}

// Traffic secret labels in the key log, in the order each side uses them,
// and how RFC 8446 marks what each protects.
var (
	clientEpochs = []string{"CLIENT_EARLY_TRAFFIC_SECRET",
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"}
	serverEpochs = []string{"SERVER_HANDSHAKE_TRAFFIC_SECRET",
		"SERVER_TRAFFIC_SECRET_0"}
	marks = map[string][2]string{
		"CLIENT_EARLY_TRAFFIC_SECRET":     {"(", ")"},
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET": {"{", "}"},
		"SERVER_HANDSHAKE_TRAFFIC_SECRET": {"{", "}"},
		"CLIENT_TRAFFIC_SECRET_0":         {"[", "]"},
		"SERVER_TRAFFIC_SECRET_0":         {"[", "]"},
	}
)

func newTLSConn(keys Secrets) *tlsConn {
	return &tlsConn{keys: keys, dirs: [2]*tlsDir{
		{client: true, labels: clientEpochs}, {labels: serverEpochs}}}
}

// feed takes in-order stream bytes of one direction and names the records
// they complete.
func (c *tlsConn) feed(up bool, b []byte) []string {
	d := c.dirs[1]
	if up {
		d = c.dirs[0]
	}
	if d.bad {
		return nil
	}
	d.buf = append(d.buf, b...)
	var out []string
	for {
		rec, n, err := earlytls.ParseRecord(d.buf)
		if err != nil {
			d.bad = true
			return append(out, "not TLS")
		}
		if n == 0 {
			break
		}
		out = append(out, c.record(d, rec)...)
		d.buf = d.buf[n:]
	}
	if len(d.buf) == 0 {
		d.buf = nil // let the big buffer go
	}
	return out
}

// record names one record, decrypting it if it can.
func (c *tlsConn) record(d *tlsDir, rec earlytls.Record) []string {
	switch {
	case rec.Type == earlytls.TypeChangeCipherSpec:
		if c.version == tls.VersionTLS12 {
			d.ccs = true
			c.tls12Keys(d)
		}
		return []string{"ChangeCipherSpec"}
	case d.ccs: // TLS 1.2, after ChangeCipherSpec: all encrypted
		if d.gcm == nil {
			return []string{"[encrypted " + rec.Type.String() + "]"}
		}
		plain, err := d.gcm.open(rec)
		if err != nil && d.trial {
			plain, err = c.tryMasters(d, rec)
		}
		if err != nil {
			return []string{"[undecryptable record]"}
		}
		return c.content(d, rec.Type, plain, "[", "]")
	case rec.Type == earlytls.TypeApplicationData && c.version == tls.VersionTLS13:
		return c.open13(d, rec)
	case rec.Type == earlytls.TypeApplicationData && c.version == 0 && d.client:
		// Before the ServerHello: 0-RTT early data, if anything.
		return c.openEarly(d, rec)
	case rec.Type == earlytls.TypeApplicationData:
		return []string{fmt.Sprintf("application data, %d B", len(rec.Fragment))}
	}
	return c.content(d, rec.Type, rec.Fragment, "", "")
}

// open13 decrypts a TLS 1.3 record with the current secret or a later one
// (so it follows the switch from early to handshake to application keys,
// and skips early data a server refused, by trial).
func (c *tlsConn) open13(d *tlsDir, rec earlytls.Record) []string {
	if d.prots == nil {
		d.prots = make([]*earlytls.Protector, len(d.labels))
		for i, l := range d.labels {
			if s := c.keys.Secret(c.clientRandom, l); s != nil {
				d.prots[i], _ = earlytls.NewProtector(c.suite, s)
			}
		}
		if d.early != nil && d.earlySuite == c.suite {
			d.prots[0] = d.early // keep its sequence number
		}
	}
	for i := d.cur; i < len(d.prots); i++ {
		if d.prots[i] == nil {
			continue
		}
		typ, plain, err := d.prots[i].Open(rec)
		if err != nil {
			continue
		}
		d.cur = i
		m := marks[d.labels[i]]
		return c.content(d, typ, plain, m[0], m[1])
	}
	return []string{fmt.Sprintf("encrypted record, %d B", len(rec.Fragment))}
}

// openEarly decrypts a client record sent before the ServerHello with the
// early traffic secret, trying each TLS 1.3 suite the first time.
func (c *tlsConn) openEarly(d *tlsDir, rec earlytls.Record) []string {
	m := marks["CLIENT_EARLY_TRAFFIC_SECRET"]
	if d.early != nil {
		if typ, plain, err := d.early.Open(rec); err == nil {
			return c.content(d, typ, plain, m[0], m[1])
		}
		return []string{fmt.Sprintf("encrypted record, %d B", len(rec.Fragment))}
	}
	secret := c.keys.Secret(c.clientRandom, "CLIENT_EARLY_TRAFFIC_SECRET")
	for _, suite := range []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384} {
		if secret == nil {
			break
		}
		p, err := earlytls.NewProtector(suite, secret)
		if err != nil {
			continue
		}
		if typ, plain, err := p.Open(rec); err == nil {
			d.early, d.earlySuite = p, suite
			return c.content(d, typ, plain, m[0], m[1])
		}
	}
	return []string{fmt.Sprintf("encrypted record, %d B", len(rec.Fragment))}
}

// content names the messages in a record's (decrypted) content.
func (c *tlsConn) content(d *tlsDir, typ earlytls.ContentType, b []byte,
	left, right string) []string {
	switch typ {
	case earlytls.TypeHandshake:
		var out []string
		d.hs = append(d.hs, b...)
		for len(d.hs) >= 4 {
			n := int(d.hs[1])<<16 | int(d.hs[2])<<8 | int(d.hs[3])
			if n > 1<<16 {
				d.bad = true
				return append(out, "oversized handshake message")
			}
			if len(d.hs) < 4+n {
				break
			}
			msg := d.hs[:4+n]
			c.handshake(msg)
			out = append(out, left+handshakeName(msg[0])+right)
			d.hs = d.hs[4+n:]
		}
		if len(d.hs) == 0 {
			d.hs = nil
		}
		return out
	case earlytls.TypeAlert:
		if len(b) != 2 {
			return []string{left + "Alert" + right}
		}
		return []string{left + "Alert: " +
			strings.TrimPrefix(tls.AlertError(b[1]).Error(), "tls: ") + right}
	case earlytls.TypeApplicationData:
		return []string{left + appData(b) + right}
	}
	return []string{left + typ.String() + right}
}

// handshake notes what the hellos tell the follower: the randoms, the
// version and the suite.
func (c *tlsConn) handshake(msg []byte) {
	body := msg[4:]
	switch msg[0] {
	case 1: // ClientHello: legacy_version, random
		if len(body) >= 34 {
			c.clientRandom = append([]byte(nil), body[2:34]...)
		}
	case 2: // ServerHello
		c.serverHello(body)
	}
}

// serverHello reads the random, the cipher suite and, from the
// supported_versions extension, the version (RFC 8446 Section 4.1.3).
func (c *tlsConn) serverHello(b []byte) {
	if len(b) < 35 {
		return
	}
	c.serverRandom = append([]byte(nil), b[2:34]...)
	c.version = binary.BigEndian.Uint16(b[0:2])
	sid := int(b[34])
	b = b[35:]
	if len(b) < sid+3 {
		return
	}
	c.suite = binary.BigEndian.Uint16(b[sid:])
	b = b[sid+3:] // session id, suite, compression
	if len(b) < 2 {
		return
	}
	b = b[2:] // extensions length
	for len(b) >= 4 {
		typ := binary.BigEndian.Uint16(b)
		n := int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+n {
			return
		}
		if typ == 43 && n == 2 { // supported_versions
			c.version = binary.BigEndian.Uint16(b[4:])
		}
		b = b[4+n:]
	}
}

// tls12Keys sets up decryption of direction d after its ChangeCipherSpec.
func (c *tlsConn) tls12Keys(d *tlsDir) {
	if c.master == nil {
		c.master = c.keys.Secret(c.clientRandom, "CLIENT_RANDOM")
	}
	if c.serverRandom == nil {
		return
	}
	if c.master == nil {
		// A resumed session: its master secret is one logged before.
		d.trial, d.gcm = true, &gcm12{}
		return
	}
	client, server, err := tls12Keys(c.suite, c.master, c.clientRandom, c.serverRandom)
	if err != nil {
		return
	}
	d.gcm = server
	if d.client {
		d.gcm = client
	}
}

// tryMasters opens rec, the first protected record of direction d, with
// the keys of every master secret in the key log, and keeps the one that
// works.
func (c *tlsConn) tryMasters(d *tlsDir, rec earlytls.Record) ([]byte, error) {
	d.trial = false
	for _, m := range c.keys.All("CLIENT_RANDOM") {
		client, server, err := tls12Keys(c.suite, m, c.clientRandom, c.serverRandom)
		if err != nil {
			break
		}
		g := server
		if d.client {
			g = client
		}
		if plain, err := g.open(rec); err == nil {
			c.master, d.gcm = m, g
			return plain, nil
		}
	}
	return nil, errors.New("wire: no master secret opens the record")
}

// handshakeName names a handshake message type (RFC 8446 Section 4, RFC
// 5246 Section 7.4).
func handshakeName(t byte) string {
	switch t {
	case 1:
		return "ClientHello"
	case 2:
		return "ServerHello"
	case 4:
		return "NewSessionTicket"
	case 5:
		return "EndOfEarlyData"
	case 8:
		return "EncryptedExtensions"
	case 11:
		return "Certificate"
	case 12:
		return "ServerKeyExchange"
	case 13:
		return "CertificateRequest"
	case 14:
		return "ServerHelloDone"
	case 15:
		return "CertificateVerify"
	case 16:
		return "ClientKeyExchange"
	case 20:
		return "Finished"
	case 24:
		return "KeyUpdate"
	}
	return fmt.Sprintf("handshake type %d", t)
}

// appData names application data by its first line when it is HTTP/1.x.
func appData(b []byte) string {
	line := b
	if i := bytes.Index(b, []byte("\r\n")); i >= 0 {
		line = b[:i]
	}
	if isHTTP(line) {
		if len(line) > 28 {
			line = append(line[:27:27], "…"...)
		}
		return string(line)
	}
	return fmt.Sprintf("data, %d B", len(b))
}

// isHTTP reports whether line looks like an HTTP/1.x request or status line.
func isHTTP(line []byte) bool {
	if bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return true
	}
	for _, m := range []string{"GET ", "HEAD ", "POST ", "PUT ", "DELETE ",
		"OPTIONS ", "PATCH "} {
		if bytes.HasPrefix(line, []byte(m)) {
			return bytes.Contains(line, []byte(" HTTP/1."))
		}
	}
	return false
}
