package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"backend-protocols/internal/timeline"
)

// The course shows Node.js reading a file two ways. With the blocking
// readFileSync the program prints 1, the file, then 2. With readFile and a
// callback it prints 1, 2, then the file: the read runs elsewhere and its
// callback runs on the event loop only after the current code has finished.
//
// Go has no built-in event loop; goroutines run in parallel. The loop type
// below is the smallest faithful copy of Node's: work is started in a
// goroutine, and its callback is queued to run on the loop's own goroutine,
// after the code that started it returns.

// readFileSync prints 1, reads the file (blocking), prints it, prints 2.
func readFileSync(path string, print func(string)) error {
	print("1")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	print(string(b))
	print("2")
	return nil
}

// loop runs callbacks one at a time, like Node's event loop.
type loop struct {
	callbacks chan func()
	pending   int // started operations whose callback has not run; loop-only
}

func newLoop() *loop { return &loop{callbacks: make(chan func(), 16)} }

// readFile starts reading path in a goroutine and queues cb with the result.
func (l *loop) readFile(path string, cb func([]byte, error)) {
	l.pending++
	go func() {
		b, err := os.ReadFile(path)
		l.callbacks <- func() { cb(b, err) }
	}()
}

// run executes main, then every callback as it arrives, until none are
// pending: the shape of a Node.js program.
func (l *loop) run(main func()) {
	main()
	for l.pending > 0 {
		cb := <-l.callbacks
		l.pending--
		cb()
	}
}

// readFileAsync prints 1, starts the read, prints 2; the callback prints
// the file later.
func readFileAsync(path string, print func(string)) error {
	var err error
	l := newLoop()
	l.run(func() {
		print("1")
		l.readFile(path, func(b []byte, e error) {
			if e != nil {
				err = e
				return
			}
			print(string(b))
		})
		print("2")
	})
	return err
}

// ordering is what the two reads printed, in order.
type ordering struct{ Sync, Async []string }

func orderingScenario(tl *timeline.Timeline) (ordering, error) {
	var o ordering
	dir, err := os.MkdirTemp("", "sync-async")
	if err != nil {
		return o, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "test.txt")
	if err := os.WriteFile(path, []byte("file"), 0o600); err != nil {
		return o, err
	}
	tl.Printf("== the course's ordering example")
	if err := readFileSync(path, func(s string) { o.Sync = append(o.Sync, s) }); err != nil {
		return o, err
	}
	tl.Printf("blocking read:            %s", strings.Join(o.Sync, ", "))
	if err := readFileAsync(path, func(s string) { o.Async = append(o.Async, s) }); err != nil {
		return o, err
	}
	tl.Printf("read with a callback:     %s", strings.Join(o.Async, ", "))
	if fmt.Sprint(o.Sync) != "[1 file 2]" || fmt.Sprint(o.Async) != "[1 2 file]" {
		return o, fmt.Errorf("got orders %v and %v, want [1 file 2] and [1 2 file]",
			o.Sync, o.Async)
	}
	return o, nil
}
