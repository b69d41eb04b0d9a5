package lb

import (
	"os"
	"path/filepath"

	"backend-protocols/internal/certs"
	"backend-protocols/internal/timeline"
)

// ServeCA makes a CA for a -serve run and writes its certificate (no key)
// to file in the temporary directory, so that curl --cacert can verify
// the demo's servers, and says where on tl.
func ServeCA(tl *timeline.Timeline, actor, file string) (*certs.CA, error) {
	ca, err := certs.NewCA()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(os.TempDir(), file)
	if err := os.WriteFile(path, ca.PEM(), 0o644); err != nil {
		return nil, err
	}
	tl.Note(actor, "CA certificate written to %s (curl --cacert %s)", path, path)
	return ca, nil
}
