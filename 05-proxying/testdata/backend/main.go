// A named backend (lb.Backend) alone in its process, for the chapter's
// comparison: the proxies under test front three of these with -backends,
// so that the CPU time of the backends and of each proxy is read apart.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"backend-protocols/05-proxying/lb"
)

func main() {
	name := flag.String("name", "b1", "the backend's name")
	flag.Parse()
	b, err := lb.StartBackend(*name, lb.BackendOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s listening on %s\n", *name, b.URL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	b.Close()
}
