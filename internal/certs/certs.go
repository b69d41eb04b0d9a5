// Package certs is an ephemeral certificate authority made in memory at
// start-up. It issues server certificates for localhost, 127.0.0.1 and ::1
// (or any names asked for) and client certificates for mutual TLS, and hands
// out tls.Configs that trust only it. No key ever touches the disk.
//
// Every tls.Config made here writes its session secrets to the file named by
// the SSLKEYLOGFILE environment variable, if set, so Wireshark or tshark can
// decrypt a demo's traffic:
//
//	SSLKEYLOGFILE=/tmp/keys go run ./03-https/tls13
//	tshark -r cap.pcap -o tls.keylog_file:/tmp/keys
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// DefaultHosts are the names a server certificate covers unless told
// otherwise: every way a demo on this machine is addressed.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// validity is how long issued certificates last; they live in memory only.
const validity = 24 * time.Hour

// CA is an in-memory certificate authority.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
	pool *x509.CertPool
}

// NewCA makes a fresh CA with a new P-256 key.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "backend-protocols demo CA"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{cert: cert, key: key, der: der, pool: pool}, nil
}

// Pool returns a pool holding only this CA, for clients to verify against.
func (ca *CA) Pool() *x509.CertPool { return ca.pool }

// Certificate returns the CA's own certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// PEM returns the CA certificate in PEM form, for tools such as
// curl --cacert. It holds no private key.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der})
}

// Server issues a server certificate for hosts (DNS names or IP addresses),
// or for DefaultHosts if none are given.
func (ca *CA) Server(hosts ...string) (tls.Certificate, error) {
	return ca.issue(ca.serverLeaf(hosts))
}

// serverLeaf is the template of a server certificate for hosts, or for
// DefaultHosts if there are none.
func (ca *CA) serverLeaf(hosts []string) *x509.Certificate {
	if len(hosts) == 0 {
		hosts = DefaultHosts
	}
	tmpl := ca.leaf(hosts[0], x509.ExtKeyUsageServerAuth)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return tmpl
}

// Client issues a client certificate with the given common name, for mutual
// TLS.
func (ca *CA) Client(name string) (tls.Certificate, error) {
	return ca.issue(ca.leaf(name, x509.ExtKeyUsageClientAuth))
}

func (ca *CA) leaf(cn string, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
}

func (ca *CA) issue(tmpl *x509.Certificate) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert,
		&key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certs: issuing %q: %w",
			tmpl.Subject.CommonName, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.der},
		PrivateKey: key, Leaf: leaf}, nil
}

// ServerConfig returns a TLS server configuration with a fresh certificate
// for hosts (DefaultHosts if none), the key-log writer set, and ALPN
// offering h2 then http/1.1. Callers may change NextProtos and the rest.
func (ca *CA) ServerConfig(hosts ...string) (*tls.Config, error) {
	cert, err := ca.Server(hosts...)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		KeyLogWriter: KeyLogWriter(),
	}, nil
}

// ClientConfig returns a TLS client configuration that trusts only this CA,
// with the key-log writer set.
func (ca *CA) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: ca.pool, KeyLogWriter: KeyLogWriter()}
}

// MutualConfigs returns a server configuration that requires a client
// certificate issued by this CA, and a client configuration that presents
// one with common name client.
func (ca *CA) MutualConfigs(client string) (server, cli *tls.Config, err error) {
	server, err = ca.ServerConfig()
	if err != nil {
		return nil, nil, err
	}
	server.ClientAuth = tls.RequireAndVerifyClientCert
	server.ClientCAs = ca.pool
	cert, err := ca.Client(client)
	if err != nil {
		return nil, nil, err
	}
	cli = ca.ClientConfig()
	cli.Certificates = []tls.Certificate{cert}
	return server, cli, nil
}

// serial returns a random 128-bit certificate serial number.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}
