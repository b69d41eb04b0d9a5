package earlytls

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// keyLog keeps the secrets of one connection's handshake by label.
type keyLog struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (k *keyLog) Write(b []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 {
			if s, err := hex.DecodeString(f[2]); err == nil {
				k.m[f[0]] = s
			}
		}
	}
	return len(b), nil
}

func (k *keyLog) secret(label string) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m[label]
}

// TestRecordsMatchCryptoTLS checks the record layer against an independent
// one, crypto/tls's own: a standard TLS 1.3 client and server talk over
// TCP, and Protector, keyed from their key log, opens every protected
// record each side wrote; then a record Protector seals is written
// straight onto the client's socket, and the server's tls.Conn reads it.
func TestRecordsMatchCryptoTLS(t *testing.T) {
	p := newPair(t, nil)
	keys := &keyLog{m: map[string][]byte{}}
	scfg := p.server.TLS.Clone()
	scfg.KeyLogWriter = keys
	ccfg := p.client.TLS.Clone()
	ccfg.KeyLogWriter = keys

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	var srvWrote *recorder
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		srvWrote = &recorder{Conn: nc}
		s := tls.Server(srvWrote, scfg)
		defer s.Close()
		s.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(s).ReadString('\n')
		if err != nil {
			got <- err.Error()
			return
		}
		io.WriteString(s, "pong\n")
		got <- line
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cliWrote := &recorder{Conn: nc}
	c := tls.Client(cliWrote, ccfg)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	cs := c.ConnectionState()

	// Our record, on the raw socket, as the client's first application
	// record (sequence number 0).
	seal, err := NewProtector(cs.CipherSuite, keys.secret("CLIENT_TRAFFIC_SECRET_0"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := seal.Seal(nil, TypeApplicationData, []byte("ping from earlytls\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(rec); err != nil {
		t.Fatal(err)
	}
	if line := <-got; line != "ping from earlytls\n" {
		t.Fatalf("crypto/tls server read %q, want our record's content", line)
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || reply != "pong\n" {
		t.Fatalf("got reply %q, %v", reply, err)
	}

	// Every protected record crypto/tls wrote, opened by Protector.
	server := openAll(t, srvWrote.written, cs.CipherSuite, keys,
		"SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0")
	want := "8 11 15 20 | 4 app:pong\n"
	if server != want {
		t.Errorf("server's records: got %q, want %q", server, want)
	}
	client := openAll(t, cliWrote.written, cs.CipherSuite, keys,
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET")
	if client != "20" {
		t.Errorf("client's records: got %q, want its Finished (20)", client)
	}
}

// openAll opens the protected records in stream b with the secrets named,
// moving to the next secret when one stops opening them, and describes
// them: handshake message types, "|" at a change of secret, app:<text>.
func openAll(t *testing.T, b []byte, suite uint16, keys *keyLog,
	labels ...string) string {
	var prots []*Protector
	for _, l := range labels {
		p, err := NewProtector(suite, keys.secret(l))
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		prots = append(prots, p)
	}
	var out []string
	cur := 0
	for len(b) > 0 {
		rec, n, err := ParseRecord(b)
		if err != nil || n == 0 {
			t.Fatalf("bad stream: %v", err)
		}
		b = b[n:]
		if rec.Type != TypeApplicationData {
			continue // the hellos, a compatibility ChangeCipherSpec
		}
		opened := false
		for i := cur; i < len(prots) && !opened; i++ {
			typ, content, err := prots[i].Open(rec)
			if err != nil {
				continue
			}
			if i != cur {
				out = append(out, "|")
				cur = i
			}
			opened = true
			switch typ {
			case TypeHandshake:
				for len(content) >= 4 {
					n := int(content[1])<<16 | int(content[2])<<8 | int(content[3])
					out = append(out, fmt.Sprint(content[0]))
					content = content[min(4+n, len(content)):]
				}
			case TypeApplicationData:
				out = append(out, "app:"+string(content))
			}
		}
		if !opened {
			out = append(out, "?")
		}
	}
	return strings.Join(out, " ")
}

// TestOpenSSLIsRefused records what happens with OpenSSL, an independent
// TLS 1.3 stack over TCP: the engine's handshake comes from crypto/tls's
// QUIC API, which insists on the quic_transport_parameters extension, so
// an OpenSSL client is refused with a missing_extension alert (and the
// server goes on serving others), and the engine's client refuses an
// OpenSSL server that does not echo the extension. See doc.go.
func TestOpenSSLIsRefused(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	p := newPair(t, nil)
	s := newEchoServer(t, p.server)
	cmd := exec.Command("openssl", "s_client", "-connect", s.addr, "-tls1_3",
		"-alpn", "http/1.1", "-servername", "localhost")
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "alert missing extension") &&
		!strings.Contains(string(out), "alert number 109") {
		t.Errorf("openssl s_client: got\n%s\nwant a missing_extension alert", out)
	}
	if got, _ := roundTrip(t, s.addr, p.client, "still serving"); got != "late:still serving" {
		t.Errorf("after OpenSSL: got %q", got)
	}
}

// TestOpenSSLServerIsRefused: the engine's client against OpenSSL's
// s_server, which speaks TLS 1.3 (with -early_data) but, over TCP, sends
// no quic_transport_parameters, so crypto/tls's QUIC client gives up.
func TestOpenSSLServerIsRefused(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	p := newPair(t, nil)
	cert, err := p.ca.Server("localhost")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() // openssl reads files; the key lives only here
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "key.pem"),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
	os.WriteFile(filepath.Join(dir, "cert.pem"),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	// openssl takes a port, not a listener: borrow a free one.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()
	cmd := exec.Command("openssl", "s_server", "-accept", addr, "-tls1_3",
		"-early_data", "-alpn", "http/1.1", "-quiet",
		"-cert", filepath.Join(dir, "cert.pem"), "-key", filepath.Join(dir, "key.pem"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var c *Conn
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, err = Dial("tcp", addr, p.client); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("openssl s_server did not start: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	err = c.Handshake()
	if err == nil || !strings.Contains(err.Error(), "quic_transport_parameters") {
		t.Errorf("got %v, want the missing quic_transport_parameters error", err)
	}
}
