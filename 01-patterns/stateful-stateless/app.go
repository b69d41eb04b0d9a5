package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
	"backend-protocols/internal/timing"
)

// mode is where an app keeps what it knows about a logged-in user.
type mode string

const (
	// stateful: a session in the instance's memory.
	stateful mode = "stateful"
	// token: nothing; the client carries a signed token.
	token mode = "token"
	// store: a session in a store shared by every instance.
	store mode = "store"
)

// appConfig is what every instance of the app is started with: the same
// for all of them, like a deployment's settings and mounted secrets.
type appConfig struct {
	Mode   mode
	Signer *Signer      // token mode: the key every instance shares
	Store  *storeClient // store mode
	TTL    time.Duration
}

// Limits on what the app reads from a request.
const (
	maxForm    = 4 << 10
	maxLines   = 10_000
	maxEvery   = time.Second
	cookieName = "session"
)

var userName = regexp.MustCompile(`^[a-z][a-z0-9]{0,31}$`)

func validUser(u string) bool { return userName.MatchString(u) }

// errMissing means the request carried no credential at all.
var errMissing = errors.New("no credential")

// instance is one running copy of the app. Its memory (the sessions of
// the stateful mode) lives only as long as the process would: restart
// empties it.
type instance struct {
	name string
	cfg  appConfig
	tl   *timeline.Timeline
	addr string

	mu       sync.Mutex
	sessions map[string]string // stateful: session id -> user
	run      *demo.Running
}

// startInstance starts an instance of the app on addr.
func startInstance(ctx context.Context, name string, cfg appConfig,
	tl *timeline.Timeline, addr string) (*instance, error) {
	in := &instance{name: name, cfg: cfg, tl: tl}
	if err := in.start(ctx, addr); err != nil {
		return nil, err
	}
	return in, nil
}

func (in *instance) start(ctx context.Context, addr string) error {
	srv := &http.Server{Handler: in.handler(), ReadHeaderTimeout: 10 * time.Second}
	run, err := demo.StartHTTP(ctx, srv, addr)
	if err != nil {
		return err
	}
	in.mu.Lock()
	in.sessions = make(map[string]string) // a new process starts empty
	in.run, in.addr = run, run.Addr
	in.mu.Unlock()
	return nil
}

// restart stops the instance and starts it again on the same address,
// with nothing in memory, as a deploy or a crash would. Calls must not
// overlap (cluster.restart serializes them).
func (in *instance) restart(ctx context.Context) error {
	in.mu.Lock()
	run := in.run
	in.mu.Unlock()
	if err := run.Close(); err != nil {
		return err
	}
	in.tl.Note(in.name, "restarted: its memory is empty")
	in.mu.Lock()
	addr := in.addr
	in.mu.Unlock()
	return in.start(ctx, addr)
}

func (in *instance) close() error {
	in.mu.Lock()
	run := in.run
	in.mu.Unlock()
	// Not under in.mu: shutting down waits for handlers that may need it.
	return run.Close()
}

func (in *instance) url() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.run.URL
}

func (in *instance) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", in.login)
	mux.HandleFunc("GET /me", in.me)
	mux.HandleFunc("POST /logout", in.logout)
	mux.HandleFunc("GET /report", in.report)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Instance", in.name)
		mux.ServeHTTP(w, r)
	})
}

// login takes user=NAME (a form field) and answers with a credential in
// the JSON body and in a cookie: a session id, or a token.
func (in *instance) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	user := r.PostFormValue("user")
	if !validUser(user) {
		http.Error(w, "want user=NAME (lower case letters and digits)",
			http.StatusBadRequest)
		return
	}
	var cred string
	switch in.cfg.Mode {
	case stateful:
		cred = newSessionID()
		in.mu.Lock()
		in.sessions[cred] = user
		in.mu.Unlock()
	case token:
		cred = in.cfg.Signer.Sign(user)
	case store:
		cred = newSessionID()
		if err := in.cfg.Store.put(r.Context(), cred, user, in.cfg.TTL); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: cred, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		MaxAge: int(in.cfg.TTL / time.Second)})
	writeJSON(w, http.StatusOK, map[string]string{"user": user,
		"credential": cred, "instance": in.name})
}

// me answers who the caller is, or 401.
func (in *instance) me(w http.ResponseWriter, r *http.Request) {
	user, ok := in.authenticate(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"user": user, "instance": in.name})
}

// logout forgets the session. A token cannot be forgotten: it stays
// valid until it expires, unless every instance shares a deny list, which
// is state again.
func (in *instance) logout(w http.ResponseWriter, r *http.Request) {
	if _, ok := in.authenticate(w, r); !ok {
		return
	}
	cred, _ := credential(r)
	revoked := true
	switch in.cfg.Mode {
	case stateful:
		in.mu.Lock()
		delete(in.sessions, cred)
		in.mu.Unlock()
	case store:
		if err := in.cfg.Store.del(r.Context(), cred); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		in.tl.Note(in.name, "session deleted from the shared store: "+
			"gone for every instance at once")
	case token:
		revoked = false
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": revoked, "instance": in.name})
}

// report streams lines=N lines, one every every=D, to an authenticated
// caller: a long response a dying connection can cut in half.
func (in *instance) report(w http.ResponseWriter, r *http.Request) {
	user, ok := in.authenticate(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("lines"))
	every, err2 := time.ParseDuration(q.Get("every"))
	if err != nil || err2 != nil || n < 1 || n > maxLines || every < 0 || every > maxEvery {
		http.Error(w, fmt.Sprintf("want lines=1..%d&every=0s..%v", maxLines, maxEvery),
			http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rc := http.NewResponseController(w)
	for i := 1; i <= n; i++ {
		if _, err := fmt.Fprintf(w, "line %d of %d for %s from %s\n",
			i, n, user, in.name); err != nil {
			return
		}
		rc.Flush()
		if i < n && timing.Sleep(r.Context(), every) != nil {
			return
		}
	}
}

// authenticate finds the caller's user or answers 401 (RFC 6750 section
// 3) and reports false.
func (in *instance) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	user, err := in.who(r)
	if err == nil {
		return user, true
	}
	challenge := `Bearer realm="demo"`
	if !errors.Is(err, errMissing) {
		challenge += fmt.Sprintf(`, error="invalid_token", error_description=%q`,
			err.Error())
	}
	w.Header().Set("WWW-Authenticate", challenge)
	status := http.StatusUnauthorized
	var unavailable storeDown
	if errors.As(err, &unavailable) {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]string{"error": err.Error(), "instance": in.name})
	return "", false
}

// storeDown wraps a failure to reach the shared store: 503, not 401.
type storeDown struct{ error }

func (in *instance) who(r *http.Request) (string, error) {
	cred, ok := credential(r)
	if !ok {
		return "", errMissing
	}
	switch in.cfg.Mode {
	case stateful:
		in.mu.Lock()
		user, ok := in.sessions[cred]
		in.mu.Unlock()
		if !ok {
			return "", fmt.Errorf("no such session on instance %s", in.name)
		}
		return user, nil
	case token:
		c, err := in.cfg.Signer.Verify(cred)
		return c.Sub, err
	case store:
		user, err := in.cfg.Store.get(r.Context(), cred)
		if err != nil && !errors.Is(err, errNoSession) {
			return "", storeDown{err}
		}
		return user, err
	}
	return "", fmt.Errorf("unknown mode %q", in.cfg.Mode)
}

// credential finds what the client presented: an Authorization: Bearer
// header (RFC 6750 section 2.1) or the session cookie.
func credential(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && cred != "" {
			return cred, true
		}
		return "", false
	}
	if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
		return c.Value, true
	}
	return "", false
}

func newSessionID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
