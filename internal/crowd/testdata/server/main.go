// A tiny server for crowd's own test: it counts open connections and
// reports them at /stats.
package main

import (
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
)

func main() {
	var open atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "{\"open\":%d}", open.Load())
		}),
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
			}
		},
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	srv.Serve(ln)
}
