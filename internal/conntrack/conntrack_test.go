package conntrack

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// start serves a handler counted by a fresh Tracker, speaking HTTP/1.1
// and h2c.
func start(t *testing.T, h http.Handler) (*Tracker, *httptest.Server) {
	t.Helper()
	tr := New()
	mux := http.NewServeMux()
	mux.Handle("/", tr.Handler(h))
	mux.Handle("/stats", tr)
	ts := httptest.NewUnstartedServer(mux)
	ts.Config.Protocols = new(http.Protocols)
	ts.Config.Protocols.SetHTTP1(true)
	ts.Config.Protocols.SetUnencryptedHTTP2(true)
	tr.Install(ts.Config)
	ts.Start()
	t.Cleanup(ts.Close)
	return tr, ts
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitFor polls cond until it holds or a second has passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHTTP1KeepAlive(t *testing.T) {
	tr, ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	tp := &http.Transport{}
	defer tp.CloseIdleConnections()
	c := &http.Client{Transport: tp}
	for range 3 {
		if got := get(t, c, ts.URL); got != "HTTP/1.1" {
			t.Fatalf("got %q, want HTTP/1.1", got)
		}
	}
	st := tr.Stats()
	if st.Accepted != 1 || st.Used != 1 || st.Requests != 3 || st.Streams != 0 {
		t.Errorf("got %+v, want 1 connection carrying 3 HTTP/1.1 requests", st)
	}
	if got := tr.PerConn(); !slices.Equal(got, []int{3}) {
		t.Errorf("got per-connection %v, want [3]", got)
	}
	tp.CloseIdleConnections()
	waitFor(t, "the connection to close", func() bool { return tr.Stats().Open == 0 })
	if cs := tr.Conns(); len(cs) != 1 || cs[0].Open || cs[0].Proto != "HTTP/1.1" {
		t.Errorf("got %+v, want one closed HTTP/1.1 connection", cs)
	}
}

func TestHTTP2StreamsAndInFlight(t *testing.T) {
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(5)
	tr, ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered.Done()
			<-release
		}
	}))
	tp := &http.Transport{Protocols: new(http.Protocols)}
	tp.Protocols.SetUnencryptedHTTP2(true)
	defer tp.CloseIdleConnections()
	c := &http.Client{Transport: tp}
	// The first request dials the connection; the next five share it as
	// streams. (Started cold, net/http's client would dial one connection
	// per request and keep one.)
	get(t, c, ts.URL)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { get(t, c, ts.URL+"/hold") })
	}
	entered.Wait()
	if st := tr.Stats(); st.InFlight != 5 || st.MaxInFlight != 5 {
		t.Errorf("got %d in flight (max %d), want 5", st.InFlight, st.MaxInFlight)
	}
	close(release)
	wg.Wait()
	st := tr.Stats()
	if st.Accepted != 1 || st.Used != 1 || st.Requests != 6 ||
		st.Streams != 6 || st.InFlight != 0 {
		t.Errorf("got %+v, want 6 streams on 1 connection", st)
	}
	tp.CloseIdleConnections()
	waitFor(t, "the HTTP/2 connection to close", func() bool {
		return tr.Stats().Open == 0
	})
}

func TestResetKeepsOpenConnections(t *testing.T) {
	tr, ts := start(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tp := &http.Transport{}
	defer tp.CloseIdleConnections()
	c := &http.Client{Transport: tp}
	get(t, c, ts.URL)
	tr.Reset()
	if st := tr.Stats(); st != (Stats{Open: 1}) {
		t.Errorf("after Reset got %+v, want only the open connection", st)
	}
	get(t, c, ts.URL)
	st := tr.Stats()
	if st.Accepted != 0 || st.Used != 1 || st.Requests != 1 {
		t.Errorf("got %+v, want the reused connection counted as used, not accepted", st)
	}
}

func TestKillResetsTheConnection(t *testing.T) {
	wrote := make(chan struct{})
	tr, ts := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first part\n")
		http.NewResponseController(w).Flush()
		close(wrote)
		<-r.Context().Done()
	}))
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-wrote
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	if line != "first part\n" {
		t.Fatalf("got %q, want the first part", line)
	}
	if err := tr.Kill(c.LocalAddr().String()); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(resp.Body)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("got %v, want connection reset by peer", err)
	}
	if err := tr.Kill("127.0.0.1:1"); !errors.Is(err, ErrNoConn) {
		t.Errorf("got %v, want ErrNoConn", err)
	}
}

func TestServeStats(t *testing.T) {
	tr, ts := start(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tp := &http.Transport{}
	defer tp.CloseIdleConnections()
	c := &http.Client{Transport: tp}
	get(t, c, ts.URL+"/a")
	get(t, c, ts.URL+"/b")
	var got struct {
		Stats
		Conns []Conn `json:"conns"`
	}
	if err := json.NewDecoder(strings.NewReader(get(t, c, ts.URL+"/stats"))).Decode(&got); err != nil {
		t.Fatal(err)
	}
	// /stats is not wrapped with Handler, so it does not count itself.
	if got.Requests != 2 || len(got.Conns) != 1 || got.Conns[0].Requests != 2 {
		t.Errorf("got %+v, want 2 requests on 1 connection", got)
	}
	resp, err := c.Post(ts.URL+"/stats", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st := tr.Stats(); st.Requests != 0 {
		t.Errorf("after POST /stats got %d requests, want 0", st.Requests)
	}
}
