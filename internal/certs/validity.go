package certs

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"time"
)

// ServerValid issues a server certificate for hosts (DefaultHosts if none)
// valid only from notBefore to notAfter, so that a demo can show a client
// refusing a certificate that has expired or is not yet valid.
func (ca *CA) ServerValid(notBefore, notAfter time.Time, hosts ...string) (tls.Certificate, error) {
	if len(hosts) == 0 {
		hosts = DefaultHosts
	}
	tmpl := ca.leaf(hosts[0], x509.ExtKeyUsageServerAuth)
	tmpl.NotBefore, tmpl.NotAfter = notBefore, notAfter
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(tmpl)
}
