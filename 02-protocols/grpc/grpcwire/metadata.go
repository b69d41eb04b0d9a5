package grpcwire

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Metadata is a call's custom metadata: lower-case keys, each with one or
// more values. Keys ending in "-bin" hold binary values, which travel
// base64-encoded; here they are the decoded bytes as a string.
type Metadata map[string][]string

// Get returns the first value of key, or "".
func (md Metadata) Get(key string) string {
	if v := md[strings.ToLower(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces the values of key.
func (md Metadata) Set(key string, values ...string) {
	md[strings.ToLower(key)] = values
}

// Add appends a value to key.
func (md Metadata) Add(key, value string) {
	k := strings.ToLower(key)
	md[k] = append(md[k], value)
}

// reserved are headers of the protocol itself, not metadata.
var reserved = map[string]bool{
	"content-type": true, "te": true, "content-length": true,
	"grpc-timeout": true, "grpc-encoding": true, "grpc-accept-encoding": true,
	"grpc-status": true, "grpc-message": true, "grpc-message-type": true,
	"grpc-status-details-bin": true, "connection": true, "host": true,
	"accept-encoding": true, "transfer-encoding": true, "trailer": true,
}

// reservedCanon is reserved in net/http's canonical form, which incoming
// headers have: looking it up first saves lowering every key.
var reservedCanon = func() map[string]bool {
	m := make(map[string]bool, len(reserved))
	for k := range reserved {
		m[http.CanonicalHeaderKey(k)] = true
	}
	return m
}()

// validKey reports whether k is a metadata key the spec allows: 0-9 a-z
// _ - . and not one of the protocol's own.
func validKey(k string) bool {
	if k == "" || reserved[k] || strings.HasPrefix(k, "grpc-") {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' ||
			c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// validValue reports whether v is an ASCII-Value: printable ASCII.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// writeTo adds md to an outgoing header (prefix http.TrailerPrefix for
// trailers), base64-encoding binary values without padding, as the spec
// says senders should.
func (md Metadata) writeTo(h http.Header, prefix string) error {
	for k, vs := range md {
		if !validKey(k) {
			return fmt.Errorf("grpcwire: invalid metadata key %q", k)
		}
		bin := strings.HasSuffix(k, "-bin")
		for _, v := range vs {
			if bin {
				v = base64.RawStdEncoding.EncodeToString([]byte(v))
			} else if !validValue(v) {
				return fmt.Errorf("grpcwire: metadata %q: value is not printable ASCII", k)
			}
			h[prefix+k] = append(h[prefix+k], v)
		}
	}
	return nil
}

// metadataFrom collects the custom metadata in an incoming header,
// decoding binary values (padded or not, comma-separated when joined).
func metadataFrom(h http.Header) (Metadata, error) {
	var md Metadata
	for ck, vs := range h {
		if reservedCanon[ck] {
			continue
		}
		k := strings.ToLower(ck)
		if reserved[k] || strings.HasPrefix(k, "grpc-") {
			continue
		}
		if md == nil {
			md = make(Metadata, len(h))
		}
		if !strings.HasSuffix(k, "-bin") {
			md[k] = append(md[k], vs...)
			continue
		}
		for _, v := range vs {
			for _, part := range strings.Split(v, ",") {
				b, err := decodeBinary(strings.TrimSpace(part))
				if err != nil {
					return nil, fmt.Errorf("metadata %q: %w", k, err)
				}
				md[k] = append(md[k], string(b))
			}
		}
	}
	return md, nil
}

func decodeBinary(s string) ([]byte, error) {
	if len(s)%4 == 0 && strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
