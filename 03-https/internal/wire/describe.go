package wire

import (
	"fmt"
	"time"
)

// Message is one line of a ladder: something one packet carried.
type Message struct {
	At   time.Duration
	Up   bool // client to server
	Text string
	// Quiet marks a bare acknowledgement after the handshake, which a
	// ladder leaves out: it carries nothing the reader is counting.
	Quiet bool
}

// flow is one connection: a TCP connection or a UDP flow, by client port.
type flow struct {
	streams  [2]stream
	tls      *tlsConn
	synAcked bool // SYN-ACK seen: the next bare ACK up completes the handshake
	acked    bool
}

// Describe names what every packet carried, in order: TCP flags and the
// TLS records and handshake messages each packet completes (decrypted
// with keys, if it has the secrets), or the QUIC packets in each UDP
// datagram. A packet may give several messages (a ServerHello and the
// encrypted handshake behind it), all at its time; a packet that carries
// only part of a record is named by its size. keys may be nil.
func Describe(pkts []Packet, keys Secrets) []Message {
	if keys == nil {
		keys = NewKeyLog(nil)
	}
	flows := make(map[[2]int]*flow)
	var out []Message
	for _, p := range pkts {
		seg, ok := parse(p)
		if !ok {
			out = append(out, Message{At: p.At, Up: p.Up,
				Text: fmt.Sprintf("packet, %d B", p.Size())})
			continue
		}
		key := [2]int{seg.proto, int(seg.port)}
		f := flows[key]
		if f == nil {
			f = &flow{tls: newTLSConn(keys)}
			flows[key] = f
		}
		for _, t := range f.describe(p, seg) {
			out = append(out, Message{At: p.At, Up: p.Up, Text: t.text,
				Quiet: t.quiet})
		}
	}
	return out
}

type text struct {
	text  string
	quiet bool
}

// describe names one packet of the flow.
func (f *flow) describe(p Packet, seg segment) []text {
	if p.Dropped {
		return []text{{text: fmt.Sprintf("%d B, lost", p.Size())}}
	}
	if seg.proto == protoUDP {
		var out []text
		for _, s := range quicPackets(seg.payload) {
			out = append(out, text{text: s})
		}
		if len(out) == 0 {
			out = append(out, text{text: fmt.Sprintf("UDP, %d B", len(seg.payload))})
		}
		return out
	}
	var out []text
	flags := f.flags(p.Up, seg)
	if flags != "" {
		out = append(out, text{text: flags})
	}
	dir := 1
	if p.Up {
		dir = 0
	}
	var names []string
	if seg.raw {
		names = f.tls.feed(p.Up, seg.payload)
	} else if data := f.streams[dir].add(seg); len(data) > 0 {
		names = f.tls.feed(p.Up, data)
	}
	for _, n := range names {
		out = append(out, text{text: n})
	}
	if len(names) == 0 && len(seg.payload) > 0 && flags == "" {
		out = append(out, text{text: fmt.Sprintf("TCP data, %d B", len(seg.payload))})
	}
	if len(out) == 0 { // a bare ACK
		t := text{text: "ACK", quiet: true}
		if p.Up && f.synAcked && !f.acked {
			t.quiet = false // the third message of the handshake
		}
		out = append(out, t)
	}
	if p.Up && f.synAcked && seg.flags&flagACK != 0 {
		f.acked = true
	}
	return out
}

// flags names the TCP control flags a ladder shows, or "" for none.
func (f *flow) flags(up bool, seg segment) string {
	fl := seg.flags
	switch {
	case seg.raw:
		return ""
	case fl&flagRST != 0:
		return "RST"
	case fl&(flagSYN|flagACK) == flagSYN|flagACK:
		f.synAcked = true
		if seg.cookie == 2 {
			return "SYN-ACK + Fast Open cookie"
		}
		return "SYN-ACK"
	case fl&flagSYN != 0 && len(seg.payload) > 0:
		return fmt.Sprintf("SYN + cookie + %d B data", len(seg.payload))
	case fl&flagSYN != 0 && seg.cookie == 1:
		return "SYN + Fast Open cookie request"
	case fl&flagSYN != 0:
		return "SYN"
	case fl&flagFIN != 0:
		return "FIN"
	}
	return ""
}

// FirstFlight returns the bytes the client sent on its TCP connection
// before the server sent any: with 0-RTT, the ClientHello and the early
// data, which is what an attacker on the path would copy and replay.
func FirstFlight(pkts []Packet) []byte {
	var s stream
	var out []byte
	for _, p := range pkts {
		seg, ok := parse(p)
		if !ok || seg.proto != protoTCP || p.Dropped {
			continue
		}
		if !p.Up {
			if len(seg.payload) > 0 {
				break
			}
			continue
		}
		if seg.raw {
			out = append(out, seg.payload...)
			continue
		}
		out = append(out, s.add(seg)...)
	}
	return out
}

// FirstDatagrams returns the UDP payloads the client sent before the
// server sent any: with QUIC 0-RTT, the Initial packets and the 0-RTT
// packets, which an attacker on the path would copy and replay.
func FirstDatagrams(pkts []Packet) [][]byte {
	var out [][]byte
	for _, p := range pkts {
		seg, ok := parse(p)
		if !ok || seg.proto != protoUDP || p.Dropped {
			continue
		}
		if !p.Up {
			break
		}
		out = append(out, append([]byte(nil), seg.payload...))
	}
	return out
}
