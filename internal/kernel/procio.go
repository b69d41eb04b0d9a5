package kernel

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// IO is this process's I/O accounting from /proc/self/io: bytes passed
// through read(2) and write(2) style calls, sockets included, and how many
// such calls were made. splice(2) and sendfile(2) count in neither, which
// is how a test or a demo can see that a proxy's bytes never entered user
// space.
type IO struct {
	ReadBytes, WriteBytes int64 // rchar, wchar
	Reads, Writes         int64 // syscr, syscw
}

// ReadIO reads /proc/self/io.
func ReadIO() (IO, error) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return IO{}, err
	}
	var io IO
	fields := map[string]*int64{"rchar": &io.ReadBytes, "wchar": &io.WriteBytes,
		"syscr": &io.Reads, "syscw": &io.Writes}
	sc := bufio.NewScanner(bytes.NewReader(b))
	found := 0
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(": "))
		if p := fields[string(k)]; ok && p != nil {
			if *p, err = strconv.ParseInt(string(v), 10, 64); err != nil {
				return IO{}, fmt.Errorf("/proc/self/io: %w", err)
			}
			found++
		}
	}
	if found != len(fields) {
		return IO{}, fmt.Errorf("/proc/self/io: %d of %d fields", found, len(fields))
	}
	return io, nil
}

// Sub returns the counts from o to io.
func (io IO) Sub(o IO) IO {
	return IO{io.ReadBytes - o.ReadBytes, io.WriteBytes - o.WriteBytes,
		io.Reads - o.Reads, io.Writes - o.Writes}
}
