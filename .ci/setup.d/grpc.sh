#!/usr/bin/env bash
# Independent gRPC peers for the tests of 02-protocols/grpc: grpcurl, and
# grpc-go's interop client and server, built in a scratch module outside
# the repository (the repo's module must not depend on them) and installed
# into "$(go env GOPATH)/bin" as grpcurl, grpc-interop-client and
# grpc-interop-server. Idempotent: it does nothing when all three exist.
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
mkdir -p "$scratch"
cd "$scratch"
[ -f go.mod ] || go mod init grpc-peers >/dev/null 2>&1
if [ ! -x "$bin/grpcurl" ]; then
  GOBIN="$bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL"
fi
if [ ! -x "$bin/grpc-interop-client" ] || [ ! -x "$bin/grpc-interop-server" ]; then
  go get "google.golang.org/grpc@$GRPC_GO" \
    "google.golang.org/grpc/interop/client@$GRPC_GO" \
    "google.golang.org/grpc/interop/server@$GRPC_GO"
  go build -o "$bin/grpc-interop-client" google.golang.org/grpc/interop/client
  go build -o "$bin/grpc-interop-server" google.golang.org/grpc/interop/server
fi
