package quic

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// pattern returns n deterministic bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ seed
	}
	return b
}

// echoServer echoes every bidirectional stream the server accepts.
func echoServer(t testing.TB, server *Conn) {
	ctx := testCtx(t)
	go func() {
		for {
			s, err := server.AcceptStream(ctx)
			if err != nil {
				return
			}
			go func() {
				io.Copy(s, s)
				s.CloseWrite()
			}()
		}
	}()
}

// TestSmallWindowsFlowControl moves 2 MB through 16 KB stream and 32 KB
// connection windows: the sender must stop at every limit and resume on
// MAX_STREAM_DATA and MAX_DATA.
func TestSmallWindowsFlowControl(t *testing.T) {
	sc, cc := serverConfig(t), clientConfig()
	for _, c := range []*Config{sc, cc} {
		c.MaxStreamReadBuffer = 16 << 10
		c.MaxConnReadBuffer = 32 << 10
	}
	client, server := pair(t, sc, cc)
	echoServer(t, server)
	echoRoundTrip(t, client, pattern(2<<20, 1))
}

// echoRoundTrip sends msg on a new stream to an echoServer and checks
// that the same bytes come back.
func echoRoundTrip(t *testing.T, client *Conn, msg []byte) {
	t.Helper()
	s, err := client.OpenStream(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		s.Write(msg)
		s.CloseWrite()
	}()
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %d bytes back, want %d identical", len(got), len(msg))
	}
}

// TestManyStreamsBeyondLimit opens 50 streams with a peer limit of 5:
// OpenStream waits for MAX_STREAMS as earlier streams finish.
func TestManyStreamsBeyondLimit(t *testing.T) {
	sc := serverConfig(t)
	sc.MaxBidiRemoteStreams = 5
	client, server := pair(t, sc, clientConfig())
	echoServer(t, server)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errc := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			s, err := client.OpenStream(ctx)
			if err != nil {
				errc <- err
				return
			}
			msg := pattern(3000+i, byte(i))
			s.Write(msg)
			s.CloseWrite()
			got, err := io.ReadAll(s)
			if err != nil || !bytes.Equal(got, msg) {
				errc <- fmt.Errorf("stream %d: %d bytes, %v", s.ID(), len(got), err)
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	client.mu.Lock()
	opened := client.streams.openedBidi
	client.mu.Unlock()
	if opened != 50 {
		t.Errorf("got %d streams opened, want 50", opened)
	}
}

func TestUniStreamsBothWays(t *testing.T) {
	client, server := pair(t, serverConfig(t), clientConfig())
	ctx := testCtx(t)
	send := func(c *Conn, msg string) {
		s, err := c.OpenUniStream(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := s.Read(make([]byte, 1)); err == nil {
			t.Error("read on our own unidirectional stream succeeded")
		}
		s.Write([]byte(msg))
		s.Close()
	}
	recv := func(c *Conn, want string, wantServerBit bool) {
		s, err := c.AcceptUniStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if (s.ID()&streamServerBit != 0) != wantServerBit || s.ID()&streamUniBit == 0 {
			t.Errorf("got stream id %d", s.ID())
		}
		if _, err := s.Write([]byte("x")); err == nil {
			t.Error("write on the peer's unidirectional stream succeeded")
		}
		got, err := io.ReadAll(s)
		if err != nil || string(got) != want {
			t.Errorf("got %q %v, want %q", got, err, want)
		}
	}
	go send(client, "from client")
	go send(server, "from server")
	recv(server, "from client", false)
	recv(client, "from server", true)
}

// TestResetAndStopSending: RESET_STREAM reaches the reader as a
// StreamError with the code; STOP_SENDING makes the writer's Write fail
// with the peer's code.
func TestResetAndStopSending(t *testing.T) {
	client, server := pair(t, serverConfig(t), clientConfig())
	ctx := testCtx(t)
	s, err := client.OpenStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("partial"))
	ss, err := server.AcceptStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Reset(0x77)
	_, err = io.ReadAll(ss)
	var se *StreamError
	if !errors.As(err, &se) || se.Code != 0x77 || !se.Remote {
		t.Errorf("reader got %v, want remote stream error 0x77", err)
	}

	s2, err := client.OpenStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s2.Write([]byte("hello"))
	ss2, err := server.AcceptStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ss2.CloseRead(0x99)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = s2.Write(make([]byte, 1000))
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !errors.As(err, &se) || se.Code != 0x99 {
		t.Errorf("writer got %v, want stream error 0x99 from STOP_SENDING", err)
	}
}

func TestReadDeadline(t *testing.T) {
	client, _ := pair(t, serverConfig(t), clientConfig())
	s, err := client.OpenStream(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err = s.Read(make([]byte, 10))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("got %v, want os.ErrDeadlineExceeded", err)
	}
	var _ net.Conn = s // a stream is a net.Conn
}

// TestConnCloseFailsStreams: streams blocked in Read return the peer's
// close error.
func TestConnCloseFailsStreams(t *testing.T) {
	client, server := pair(t, serverConfig(t), clientConfig())
	s, err := client.OpenStream(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("x"))
	errc := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 10))
		errc <- err
	}()
	if _, err := server.AcceptStream(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	server.CloseWithError(7, "done")
	select {
	case err := <-errc:
		var ae *ApplicationError
		if !errors.As(err, &ae) || ae.Code != 7 {
			t.Errorf("got %v, want application error 7", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return after the connection closed")
	}
}

// TestIdleTimeout closes a connection nobody uses.
func TestIdleTimeout(t *testing.T) {
	sc, cc := serverConfig(t), clientConfig()
	sc.MaxIdleTimeout = 150 * time.Millisecond
	client, _ := pair(t, sc, cc)
	select {
	case <-client.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("connection still open after the idle timeout")
	}
	if err := client.Err(); !errors.Is(err, ErrIdleTimeout) {
		t.Errorf("got %v, want ErrIdleTimeout", err)
	}
}

// TestKeepAlive keeps a connection open past its idle timeout with PINGs.
func TestKeepAlive(t *testing.T) {
	sc, cc := serverConfig(t), clientConfig()
	sc.MaxIdleTimeout = 500 * time.Millisecond
	cc.KeepAlivePeriod = 50 * time.Millisecond
	client, _ := pair(t, sc, cc)
	select {
	case <-client.Done():
		t.Fatalf("closed despite keep-alives: %v", client.Err())
	case <-time.After(1100 * time.Millisecond):
	}
}

func TestKeyUpdate(t *testing.T) {
	client, server := pair(t, serverConfig(t), clientConfig())
	echoServer(t, server)
	echoRoundTrip(t, client, pattern(10000, 3))
	for i := 0; i < 3; i++ {
		client.UpdateKeys()
		echoRoundTrip(t, client, pattern(50000, 3))
	}
	cs, ss := client.Stats(), server.Stats()
	if cs.KeyUpdates < 3 || ss.KeyUpdates < 3 {
		t.Errorf("got %d client and %d server key updates, want >= 3 each",
			cs.KeyUpdates, ss.KeyUpdates)
	}
}
