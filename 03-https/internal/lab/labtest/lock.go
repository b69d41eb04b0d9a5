package labtest

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockName is the file whose lock serialises measuring runs across test
// binaries: go test runs packages in parallel, and two chapters measuring
// round trips at once on two cores load each other's links.
var lockName = filepath.Join(os.TempDir(), "backend-protocols-timing.lock")

// exclusive runs f while holding the lock (or without it, if the lock
// file cannot be opened: timing is then only less precise).
func exclusive(f func()) {
	fd, err := unix.Open(lockName, unix.O_CREAT|unix.O_RDWR|unix.O_CLOEXEC, 0o666)
	if err != nil {
		f()
		return
	}
	defer unix.Close(fd)
	for unix.Flock(fd, unix.LOCK_EX) == unix.EINTR {
	}
	defer unix.Flock(fd, unix.LOCK_UN)
	f()
}
