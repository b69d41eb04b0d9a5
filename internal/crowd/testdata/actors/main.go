// A tiny program for crowd's StartActors test: two actors say where they
// listen, in the timeline's format, and it waits to be killed.
package main

import (
	"fmt"
	"net"
)

func main() {
	var lns []net.Listener
	for _, name := range []string{"back", "front"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		lns = append(lns, ln)
		fmt.Printf("    +0.%dms  %-18s listening on http://%s\n", len(lns), name, ln.Addr())
	}
	fmt.Println("    +0.3ms  front              ready")
	select {}
}
