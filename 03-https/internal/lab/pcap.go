package lab

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"os"
)

// linkTypeRaw is pcap's link type for bare IP packets (LINKTYPE_RAW).
const linkTypeRaw = 101

// WritePcap writes every packet the lab has captured to w in the classic
// pcap format, for Wireshark or tshark; with the key log (SSLKEYLOGFILE)
// they decrypt the TLS in it. Only the emulated path has packets.
func (l *Lab) WritePcap(w io.Writer) error {
	if !l.Emulated() {
		return errors.New("no packets to write: the loopback fallback sees writes, not packets")
	}
	bw := bufio.NewWriter(w)
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4) // microseconds
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], linkTypeRaw)
	bw.Write(hdr)
	l.cap.mu.Lock()
	pkts := l.cap.pkts
	start := l.cap.start
	l.cap.mu.Unlock()
	for _, p := range pkts[:len(pkts):len(pkts)] {
		at := start.Add(p.At)
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(at.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(at.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(p.Data)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(p.Data)))
		bw.Write(rec)
		bw.Write(p.Data)
	}
	return bw.Flush()
}

// savePcap writes the capture to the file the configuration names.
func (l *Lab) savePcap() error {
	f, err := os.Create(l.cfg.Pcap)
	if err != nil {
		return err
	}
	err = l.WritePcap(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// saveKeyLog writes the lab's TLS secrets to the file the configuration
// names.
func (l *Lab) saveKeyLog() error {
	f, err := os.OpenFile(l.cfg.KeyLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = l.Keys.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
