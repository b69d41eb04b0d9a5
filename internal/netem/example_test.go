package netem_test

import (
	"fmt"
	"io"
	"log"
	"time"

	"backend-protocols/internal/netem"
	"backend-protocols/internal/netns"
)

// A client and a server 50 ms apart, with real kernel TCP between them.
// (No Output line: it needs namespaces, and it prints measurements.)
func ExampleNewPair() {
	if err := netns.Available(); err != nil {
		fmt.Println("skipped:", err) // a demo falls back; a test skips
		return
	}
	oneWay := netem.Path{Delay: 25 * time.Millisecond}
	p, err := netem.NewPair(oneWay, oneWay)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	// The server is 10.0.0.2 (p.Addr(1)); the client is 10.0.0.1.
	ln, err := p.Server().Listen("tcp", "10.0.0.2:443")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(c, c) // echo
			c.Close()
		}
	}()

	start := time.Now()
	c, err := p.Client().Dial("tcp", "10.0.0.2:443")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("connect took %v\n", time.Since(start).Round(time.Millisecond))
	c.Write([]byte("ping"))
	io.ReadFull(c, make([]byte, 4))
	c.Close()
	fmt.Printf("connect and echo took %v\n", time.Since(start).Round(time.Millisecond))
	up := p.Links[0].Up()
	fmt.Printf("client -> server: %d packets, %d bytes\n", up.Packets, up.Bytes)
}

// A client, a router that masquerades, and a server; the second link
// carries at most 1400 bytes per packet.
func ExampleNewChain() {
	c, err := netem.NewChain(netem.Hop{}, netem.Hop{MTU: 1400})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	router := c.Hosts[1] // 10.0.0.2 toward the client, 10.0.1.1 beyond
	fmt.Println(router, c.Addr(1), "forwards to", c.Server(), c.Addr(2))
	// For NAT, run nft inside the router (Do runs it in the namespace):
	//	router.Do(exec.Command("nft", "-f", "nat.nft").Run)
}
