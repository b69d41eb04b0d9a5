package certs

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

func TestServerValidExpired(t *testing.T) {
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cert, err := ca.ServerValid(now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cert.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "localhost"})
	var inv x509.CertificateInvalidError
	if !errors.As(err, &inv) || inv.Reason != x509.Expired {
		t.Errorf("got %v, want an expired certificate", err)
	}
	if !cert.Leaf.NotAfter.Equal(now.Add(-24 * time.Hour).Truncate(time.Second)) {
		t.Errorf("got NotAfter %v, want %v", cert.Leaf.NotAfter, now.Add(-24*time.Hour))
	}
}
