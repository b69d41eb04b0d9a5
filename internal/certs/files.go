package certs

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
)

// WriteServerFiles issues a server certificate for hosts (DefaultHosts if
// none) and writes, into dir, the CA certificate (ca.pem), the server's
// chain (cert.pem) and its private key (key.pem), for an independent peer
// that reads them from files. Use a temporary directory: the key is
// written with mode 0600 and lives only as long as dir.
func (ca *CA) WriteServerFiles(dir string, hosts ...string) (caFile, certFile, keyFile string, err error) {
	c, err := ca.Server(hosts...)
	if err != nil {
		return "", "", "", err
	}
	var chain []byte
	for _, der := range c.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
			Bytes: der})...)
	}
	k, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return "", "", "", err
	}
	caFile = filepath.Join(dir, "ca.pem")
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	for _, f := range []struct {
		name string
		b    []byte
	}{
		{caFile, ca.PEM()},
		{certFile, chain},
		{keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})},
	} {
		if err := os.WriteFile(f.name, f.b, 0o600); err != nil {
			return "", "", "", err
		}
	}
	return caFile, certFile, keyFile, nil
}
