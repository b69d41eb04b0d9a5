package main

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// The work queue's log is a file of records, appended and fsynced before
// the broker answers the command that caused them:
//
//	record = length (uint32, big endian) | crc (uint32, CRC-32C of body) | body
//	body   = op ('P' push | 'A' ack) | job id (uvarint)
//	         | queue length (uvarint) | queue | payload (push only: the rest)
//
// A job is live from its push until its ack. Deliveries are not logged:
// after a restart every live job is ready again (at-least-once delivery).
// A record cut short by a crash at the end of the file is dropped; a
// record whose checksum fails is corruption, and opening the log fails.

const (
	opPush byte = 'P'
	opAck  byte = 'A'

	maxRecord = maxPayload + 1 + binary.MaxVarintLen64*2 + maxQueueName
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt reports a log record whose checksum or shape is wrong.
var errCorrupt = errors.New("queue log corrupt")

// record is one decoded log entry.
type record struct {
	op      byte
	id      uint64
	queue   string
	payload string
}

func (r record) encode() []byte {
	body := []byte{r.op}
	body = binary.AppendUvarint(body, r.id)
	body = binary.AppendUvarint(body, uint64(len(r.queue)))
	body = append(body, r.queue...)
	if r.op == opPush {
		body = append(body, r.payload...)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	out = binary.BigEndian.AppendUint32(out, crc32.Checksum(body, castagnoli))
	return append(out, body...)
}

// decodeBody parses a record body whose checksum has been verified.
func decodeBody(b []byte) (record, error) {
	if len(b) < 1 || (b[0] != opPush && b[0] != opAck) {
		return record{}, fmt.Errorf("%w: bad op", errCorrupt)
	}
	r := record{op: b[0]}
	b = b[1:]
	id, n := binary.Uvarint(b)
	if n <= 0 {
		return record{}, fmt.Errorf("%w: bad id", errCorrupt)
	}
	r.id, b = id, b[n:]
	ql, n := binary.Uvarint(b)
	if n <= 0 || ql > maxQueueName || ql > uint64(len(b)-n) {
		return record{}, fmt.Errorf("%w: bad queue name", errCorrupt)
	}
	b = b[n:]
	r.queue, b = string(b[:ql]), b[ql:]
	switch {
	case r.op == opPush:
		r.payload = string(b)
	case len(b) != 0:
		return record{}, fmt.Errorf("%w: trailing bytes in an ack", errCorrupt)
	}
	return r, nil
}

// readLog reads every complete record of a log. It returns the records,
// the offset just after the last complete one (where a torn tail starts),
// and errCorrupt for a record that is complete but wrong.
func readLog(r io.Reader) (recs []record, good int64, err error) {
	br := bufio.NewReader(r)
	var head [8]byte
	for {
		if _, err := io.ReadFull(br, head[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return recs, good, nil // clean end, or a torn header
			}
			return recs, good, err
		}
		n := binary.BigEndian.Uint32(head[:4])
		if n == 0 || n > maxRecord {
			return recs, good, fmt.Errorf("%w at offset %d: record length %d", errCorrupt, good, n)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return recs, good, nil // a torn record: the crash came mid-write
			}
			return recs, good, err
		}
		if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(head[4:]) {
			return recs, good, fmt.Errorf("%w at offset %d: checksum mismatch", errCorrupt, good)
		}
		rec, err := decodeBody(body)
		if err != nil {
			return recs, good, fmt.Errorf("%w at offset %d", err, good)
		}
		recs = append(recs, rec)
		good += int64(8 + n)
	}
}

// wal is an open log, appended to with fsync.
type wal struct {
	f *os.File
}

// liveJob is a job pushed and not yet acknowledged.
type liveJob struct {
	id             uint64
	queue, payload string
}

// openLog replays the log at path, rewrites it with only the live jobs
// (so it does not grow across restarts), and opens it for appending.
func openLog(path string) (*wal, []liveJob, error) {
	live := map[uint64]liveJob{}
	if f, err := os.Open(path); err == nil {
		recs, _, err := readLog(f)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, r := range recs {
			if r.op == opPush {
				live[r.id] = liveJob{r.id, r.queue, r.payload}
			} else {
				delete(live, r.id)
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	jobs := make([]liveJob, 0, len(live))
	for _, j := range live {
		jobs = append(jobs, j)
	}
	slices.SortFunc(jobs, func(a, b liveJob) int { return cmp.Compare(a.id, b.id) })
	tmp := path + ".compact"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, err
	}
	w := bufio.NewWriter(f)
	for _, j := range jobs {
		w.Write(record{op: opPush, id: j.id, queue: j.queue, payload: j.payload}.encode())
	}
	if err := w.Flush(); err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return nil, nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, nil, err
	}
	syncDir(filepath.Dir(path))
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return &wal{f: f}, jobs, nil
}

// syncDir makes a rename durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// append writes one record and waits until it is on disk.
func (w *wal) append(r record) error {
	if _, err := w.f.Write(r.encode()); err != nil {
		return err
	}
	return w.f.Sync()
}

func (w *wal) close() error { return w.f.Close() }
