package h3

import (
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// malformed is the stream error for a malformed message (RFC 9114,
// Section 4.1.2).
func malformed(format string, args ...any) *Error {
	return errorf(ErrCodeMessageError, format, args...)
}

// connectionSpecific lists fields HTTP/3 forbids (Section 4.2).
var connectionSpecific = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true,
}

// checkField validates one regular field line: a lowercase token name,
// a value without NUL, CR or LF, no connection-specific field.
func checkField(f headerField) error {
	if !httpguts.ValidHeaderFieldName(f.Name) || strings.ToLower(f.Name) != f.Name {
		return malformed("invalid field name %q", f.Name)
	}
	if !httpguts.ValidHeaderFieldValue(f.Value) {
		return malformed("invalid value for field %q", f.Name)
	}
	if connectionSpecific[f.Name] {
		return malformed("connection-specific field %q", f.Name)
	}
	if f.Name == "te" && f.Value != "trailers" {
		return malformed("te other than trailers")
	}
	return nil
}

// splitFields separates pseudo-header fields from regular ones, which
// must come after them all (Section 4.3), into an http.Header.
func splitFields(fields []headerField) (map[string]string, http.Header, error) {
	pseudo := map[string]string{}
	h := http.Header{}
	regular := false
	var cookies []string
	for _, f := range fields {
		if strings.HasPrefix(f.Name, ":") {
			if regular {
				return nil, nil, malformed("pseudo-header %s after a regular field", f.Name)
			}
			if _, dup := pseudo[f.Name]; dup {
				return nil, nil, malformed("pseudo-header %s repeated", f.Name)
			}
			pseudo[f.Name] = f.Value
			continue
		}
		regular = true
		if err := checkField(f); err != nil {
			return nil, nil, err
		}
		if f.Name == "cookie" {
			// Cookies may be split into several fields; they are joined
			// back for HTTP/1.1 semantics (Section 4.2.1).
			cookies = append(cookies, f.Value)
			continue
		}
		key := textproto.CanonicalMIMEHeaderKey(f.Name)
		h[key] = append(h[key], f.Value)
	}
	if len(cookies) > 0 {
		h.Set("Cookie", strings.Join(cookies, "; "))
	}
	return pseudo, h, nil
}

// contentLength parses Content-Length; -1 if absent.
func contentLength(h http.Header) (int64, error) {
	vs := h.Values("Content-Length")
	if len(vs) == 0 {
		return -1, nil
	}
	for _, v := range vs[1:] {
		if v != vs[0] {
			return 0, malformed("conflicting content-length")
		}
	}
	n, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || n < 0 {
		return 0, malformed("invalid content-length %q", vs[0])
	}
	return n, nil
}

// requestFromFields builds a server-side request from a decoded field
// section (Section 4.3.1).
func requestFromFields(fields []headerField) (*http.Request, error) {
	pseudo, h, err := splitFields(fields)
	if err != nil {
		return nil, err
	}
	for k := range pseudo {
		switch k {
		case ":method", ":scheme", ":authority", ":path":
		default:
			return nil, malformed("pseudo-header %s in a request", k)
		}
	}
	method, scheme := pseudo[":method"], pseudo[":scheme"]
	authority, path := pseudo[":authority"], pseudo[":path"]
	_, hasScheme := pseudo[":scheme"]
	_, hasPath := pseudo[":path"]
	if method == "" {
		return nil, malformed("missing :method")
	}
	if method == http.MethodConnect {
		if hasScheme || hasPath || authority == "" {
			return nil, malformed("CONNECT needs :authority and no :scheme or :path")
		}
	} else {
		if scheme == "" || path == "" {
			return nil, malformed("missing :scheme or :path")
		}
		if (scheme == "http" || scheme == "https") && authority == "" &&
			h.Get("Host") == "" {
			return nil, malformed("no :authority or host")
		}
	}
	if host := h.Get("Host"); authority != "" && host != "" && host != authority {
		return nil, malformed(":authority and host differ")
	}
	if authority == "" {
		authority = h.Get("Host")
	}
	h.Del("Host")
	cl, err := contentLength(h)
	if err != nil {
		return nil, err
	}
	r := &http.Request{Method: method, Proto: "HTTP/3.0", ProtoMajor: 3,
		Header: h, Host: authority, RequestURI: path, ContentLength: cl}
	if method == http.MethodConnect {
		r.URL = &url.URL{Host: authority}
		r.RequestURI = authority
	} else if path == "*" && method == http.MethodOptions {
		r.URL = &url.URL{Path: "*"}
	} else {
		u, err := url.ParseRequestURI(path)
		if err != nil {
			return nil, malformed("bad :path %q", path)
		}
		r.URL = u
	}
	if r.ContentLength < 0 {
		r.ContentLength = -1
	}
	return r, nil
}

// responseFromFields builds a client-side response head: a three-digit
// :status and nothing else pseudo (Section 4.3.2).
func responseFromFields(fields []headerField) (int, http.Header, error) {
	pseudo, h, err := splitFields(fields)
	if err != nil {
		return 0, nil, err
	}
	for k := range pseudo {
		if k != ":status" {
			return 0, nil, malformed("pseudo-header %s in a response", k)
		}
	}
	s := pseudo[":status"]
	code, err := strconv.Atoi(s)
	if len(s) != 3 || err != nil || code < 100 {
		return 0, nil, malformed("bad :status %q", s)
	}
	return code, h, nil
}

// trailerFromFields checks a trailer section: no pseudo-headers.
func trailerFromFields(fields []headerField) (http.Header, error) {
	pseudo, h, err := splitFields(fields)
	if err != nil {
		return nil, err
	}
	if len(pseudo) > 0 {
		return nil, malformed("pseudo-header in trailers")
	}
	return h, nil
}

// appendHeaderFields adds h to fields with lowercase names, leaving out
// what HTTP/3 forbids or carries elsewhere.
func appendHeaderFields(fields []headerField, h http.Header) []headerField {
	for k, vs := range h {
		name := strings.ToLower(k)
		if connectionSpecific[name] || name == "host" ||
			!httpguts.ValidHeaderFieldName(name) {
			continue
		}
		if name == "te" {
			// Only "te: trailers" is allowed (Section 4.2).
			if !slices.ContainsFunc(vs, func(v string) bool {
				return strings.EqualFold(v, "trailers")
			}) {
				continue
			}
			vs = []string{"trailers"}
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				continue
			}
			fields = append(fields, headerField{name, v})
		}
	}
	return fields
}
