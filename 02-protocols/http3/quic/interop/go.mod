module backend-protocols/02-protocols/http3/quic/interop

go 1.26.0

replace backend-protocols => ../../../..

require (
	backend-protocols v0.0.0-00010101000000-000000000000
	golang.org/x/net v0.62.0
)

require (
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
