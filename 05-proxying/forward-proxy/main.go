// Forward proxy: clients configured to use it (http.Transport.Proxy, curl
// -x, a browser's proxy setting) send it absolute-form requests, which it
// forwards with hop-by-hop headers removed and Via added, and CONNECT
// requests, which it turns into tunnels of opaque bytes for HTTPS. It is
// not an open proxy: only loopback destinations on the ports it was given,
// 403 for the rest, and Basic proxy authentication (407) if asked.
//
//	go run ./05-proxying/forward-proxy
//
// Look for what the proxy could read: for http://, the full URL with its
// query, the Authorization header and the cookies; for https://, only
// CONNECT host:port and byte counts, while the client verifies the bank's
// certificate end to end. Then refusals (403, 400), 407 until the client
// sends credentials, and a FIN crossing a tunnel. Serve it for curl:
//
//	go run ./05-proxying/forward-proxy -serve 127.0.0.1:3128
//	curl -x http://127.0.0.1:3128 http://localhost:PORT/headers     # ports printed at start
//	curl -x http://127.0.0.1:3128 --cacert /tmp/forward-proxy-ca.pem https://localhost:PORT/
//	curl -x http://127.0.0.1:3128 https://example.com/              # 403: not loopback
//	go run ./05-proxying/forward-proxy -serve 127.0.0.1:3128 -auth alice:wonderland
//	curl -x http://alice:wonderland@127.0.0.1:3128 http://localhost:PORT/
package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

func main() {
	var sc serveConfig
	var ports, auth string
	p := demo.New("forward-proxy",
		"Forward proxy: absolute-form forwarding, CONNECT tunnels, loopback only, optional 407.",
		demo.Modes{
			Scenario: func(ctx context.Context, tl *timeline.Timeline) error {
				_, err := scenario(ctx, tl)
				return err
			},
			Serve: func(ctx context.Context, addr string, tl *timeline.Timeline) error {
				var err error
				if sc.Ports, err = parsePorts(ports); err != nil {
					return err
				}
				if auth != "" {
					var ok bool
					if sc.User, sc.Pass, ok = strings.Cut(auth, ":"); !ok || sc.User == "" {
						return fmt.Errorf("-auth wants user:password")
					}
				}
				ln, err := demo.Listen(addr)
				if err != nil {
					return err
				}
				return serve(ctx, ln, tl, sc)
			},
		})
	p.Flags.StringVar(&ports, "allow-ports", "80,443,8080,8443",
		"with -serve: destination ports allowed (on loopback), besides its own origins'")
	p.Flags.StringVar(&auth, "auth", "", "with -serve: require Basic proxy credentials `user:password`")
	p.Main()
}

func parsePorts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("bad port %q in -allow-ports", f)
		}
		out = append(out, n)
	}
	return out, nil
}
