package certs

import (
	"crypto/tls"
	"time"
)

// ServerValid issues a server certificate for hosts (DefaultHosts if none)
// valid only from notBefore to notAfter, so that a demo can show a client
// refusing a certificate that has expired or is not yet valid.
func (ca *CA) ServerValid(notBefore, notAfter time.Time, hosts ...string) (tls.Certificate, error) {
	tmpl := ca.serverLeaf(hosts)
	tmpl.NotBefore, tmpl.NotAfter = notBefore, notAfter
	return ca.issue(tmpl)
}
