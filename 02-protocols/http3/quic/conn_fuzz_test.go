package quic

import (
	"net/netip"
	"testing"
	"time"
)

// offlineConn makes an established-looking server connection on ep
// without a goroutine or a peer, so that frames can be fed to it
// directly.
func offlineConn(ep *Endpoint, cfg *Config) *Conn {
	c := newConn(ep, cfg, true, netip.MustParseAddrPort("127.0.0.1:9"))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocalID(newConnID())
	c.cids.peer = []peerConnID{{id: newConnID()}}
	c.originalDCID = newConnID()
	if err := c.startTLS(); err != nil {
		panic(err)
	}
	c.handshakeComplete = true
	c.handshakeConfirmed = true
	c.havePeerParams = true
	c.peerParams = defaultParams()
	c.peerParams.initialMaxData = 1 << 20
	c.peerParams.maxStreamDataBidiLoc = 1 << 16
	c.peerParams.initialMaxStreamsBidi = 10
	c.flow.sendMax = 1 << 20
	c.streams.applyPeerParams(&c.peerParams, false)
	return c
}

// FuzzFrames1RTT hands arbitrary 1-RTT packet payloads to a server
// connection's frame handlers: a hostile payload may close that
// connection with an error, never panic, and the connection's state
// stays within its limits.
func FuzzFrames1RTT(f *testing.F) {
	cfg, err := serverConfig(f).prepare(true)
	if err != nil {
		f.Fatal(err)
	}
	ep, err := Listen("udp", "127.0.0.1:0", cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ep.Close() })
	f.Add(append(appendStreamHeader(nil, 0, 0, 5, true, false), "hello"...))
	f.Add(appendAck(nil, []ackRange{{0, 3}}, 10, 4))
	f.Add(appendResetStream(nil, 4, 1, 100))
	f.Add(appendNewConnectionID(nil, 1, 0, []byte{1, 2, 3, 4}, [16]byte{9}))
	f.Add([]byte{frameTypeMaxStreamsBidi, 0x40, 0xff, frameTypePing})
	f.Add(appendPath(nil, frameTypePathChallenge, [8]byte{1}))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c := offlineConn(ep, cfg)
		defer func() {
			c.tlsCancel()
			c.tls.Close()
			ep.removeConn(c)
		}()
		c.mu.Lock()
		defer c.mu.Unlock()
		h := header{typ: Packet1RTT, dcid: c.cids.local[0].id}
		_, _, err := c.handleFrames(h, spaceApp, payload,
			datagram{addr: c.path.addr}, time.Now())
		if err != nil {
			c.closeLocked(err, false)
		}
		if uint64(len(c.streams.m)) > c.streams.maxBidi+c.streams.maxUni {
			t.Fatalf("%d streams open past the limits", len(c.streams.m))
		}
		if c.flow.recvd > c.flow.recvMax {
			t.Fatalf("accepted %d bytes past MAX_DATA %d", c.flow.recvd, c.flow.recvMax)
		}
		// Building packets afterwards must not panic either.
		c.flush(time.Now())
	})
}
