#!/usr/bin/env bash
# Independent gRPC peers for the tests of 02-protocols/grpc, built from
# grpc-go and grpcurl in a scratch module outside the repository (the
# repo's module must not depend on them) and installed into
# "$(go env GOPATH)/bin":
#
#   grpcurl              a gRPC client for the command line
#   grpc-interop-client  grpc-go's interop test client, unchanged
#   grpc-interop-server  grpc-go's interop TestService (interop.NewTestServer)
#                        behind a small main that listens on 127.0.0.1, on
#                        a port the kernel picks, and prints the address
#
# Idempotent: it does nothing when all three exist.
set -euo pipefail
GRPC_GO=v1.85.0
GRPCURL=v1.9.4
bin="$(go env GOPATH)/bin"
mkdir -p "$bin"
if [ -x "$bin/grpcurl" ] && [ -x "$bin/grpc-interop-client" ] &&
  [ -x "$bin/grpc-interop-server" ]; then
  exit 0
fi
export GOFLAGS=-mod=mod
unset GOWORK
scratch="${XDG_CACHE_HOME:-$HOME/.cache}/backend-protocols/grpc-peers"
mkdir -p "$scratch/server"
cd "$scratch"
[ -f go.mod ] || go mod init grpc-peers >/dev/null 2>&1
if [ ! -x "$bin/grpcurl" ]; then
  GOBIN="$bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL"
fi
cat >server/main.go <<'GO'
// Command grpc-interop-server serves grpc-go's interop TestService on a
// loopback address, TLS if given a certificate, and prints the address.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	cert := flag.String("tls_cert_file", "", "TLS certificate (PEM)")
	key := flag.String("tls_key_file", "", "TLS key (PEM)")
	flag.Parse()
	var opts []grpc.ServerOption
	if *cert != "" {
		creds, err := credentials.NewServerTLSFromFile(*cert, *key)
		if err != nil {
			log.Fatal(err)
		}
		opts = append(opts, grpc.Creds(creds))
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer(opts...)
	testgrpc.RegisterTestServiceServer(s, interop.NewTestServer())
	fmt.Println(lis.Addr())
	log.Fatal(s.Serve(lis))
}
GO
go get "google.golang.org/grpc@$GRPC_GO" \
  "google.golang.org/grpc/interop/client@$GRPC_GO"
go build -o "$bin/grpc-interop-client" google.golang.org/grpc/interop/client
go build -o "$bin/grpc-interop-server" ./server
