package h3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"backend-protocols/internal/certs"
)

var testCA = sync.OnceValue(func() *certs.CA {
	ca, err := certs.NewCA()
	if err != nil {
		panic(err)
	}
	return ca
})

// startServer serves h on a new endpoint and returns its address.
func startServer(t testing.TB, h http.Handler, opts ...func(*Server)) (*Server, string) {
	t.Helper()
	tc, err := testCA().ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h, TLSConfig: tc}
	for _, o := range opts {
		o(s)
	}
	ep, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ep) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s, ep.LocalAddr().String()
}

func newClient(t testing.TB) (*http.Client, *Transport) {
	tr := &Transport{TLSClientConfig: testCA().ClientConfig()}
	t.Cleanup(func() { tr.Close() })
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}, tr
}

func testMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
		fmt.Fprintf(w, "hello %s via %s", r.URL.Query().Get("name"), r.Host)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Length")
		n, _ := io.Copy(w, r.Body)
		w.Header().Set("X-Length", fmt.Sprint(n))
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("0123456789"), 100000))
	})
	mux.HandleFunc("GET /hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Write([]byte("final"))
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	})
	return mux
}

func TestGetPostOverHTTP3(t *testing.T) {
	_, addr := startServer(t, testMux())
	client, _ := newClient(t)
	base := "https://" + addr

	resp, err := client.Get(base + "/hello?name=quic")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello quic via "+addr ||
		resp.Proto != "HTTP/3.0" || resp.Header.Get("X-Proto") != "HTTP/3.0" {
		t.Errorf("GET: got %d %q %s %v", resp.StatusCode, b, resp.Proto, resp.Header)
	}
	if resp.ContentLength != int64(len(b)) {
		t.Errorf("got Content-Length %d, want %d", resp.ContentLength, len(b))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("got sniffed Content-Type %q", ct)
	}

	body := strings.Repeat("post body ", 10000)
	resp, err = client.Post(base+"/echo", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != body {
		t.Errorf("POST echo: got %d bytes, want %d", len(b), len(body))
	}
	if got := resp.Trailer.Get("X-Length"); got != fmt.Sprint(len(body)) {
		t.Errorf("got trailer X-Length %q, want %d", got, len(body))
	}

	resp, err = client.Get(base + "/missing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("got %d, want 404", resp.StatusCode)
	}

	resp, err = client.Get(base + "/hints")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "final" {
		t.Errorf("after 103: got %d %q", resp.StatusCode, b)
	}

	resp, err = client.Head(base + "/big")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != 0 || resp.StatusCode != 200 {
		t.Errorf("HEAD: got %d and %d body bytes", resp.StatusCode, len(b))
	}
}

func TestConcurrentRequestsShareOneConnection(t *testing.T) {
	_, addr := startServer(t, testMux())
	client, tr := newClient(t)
	var wg sync.WaitGroup
	errc := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			resp, err := client.Get("https://" + addr + "/big")
			if err != nil {
				errc <- err
				return
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || n != 1000000 {
				errc <- fmt.Errorf("got %d bytes, %v", n, err)
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if qc := tr.Conn(addr); qc == nil {
		t.Error("no connection kept")
	}
}

func TestHandlerPanicResetsOnlyThatStream(t *testing.T) {
	_, addr := startServer(t, testMux(), func(s *Server) {
		s.ErrorLog = discardLog()
	})
	client, _ := newClient(t)
	_, err := client.Get("https://" + addr + "/panic")
	if err == nil {
		t.Fatal("got a response from a panicking handler")
	}
	resp, err := client.Get("https://" + addr + "/hello")
	if err != nil {
		t.Fatalf("after the panic: %v", err)
	}
	resp.Body.Close()
}

func TestShutdownSendsGoaway(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.Write([]byte("finished"))
	})
	s, addr := startServer(t, mux)
	client, tr := newClient(t)
	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := client.Get("https://" + addr + "/slow")
		if err != nil {
			res <- result{"", err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{string(b), err}
	}()
	<-started
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	// The client hears GOAWAY while the request is still running.
	deadline := time.Now().Add(5 * time.Second)
	for {
		tr.mu.Lock()
		cc := tr.conns[addr]
		tr.mu.Unlock()
		ready := false
		if cc != nil {
			select {
			case <-cc.ready:
				ready = cc.err == nil
			default:
			}
		}
		if ready && cc.goingAway() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("client never saw GOAWAY")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	r := <-res
	if r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request: got %q, %v", r.body, r.err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }
