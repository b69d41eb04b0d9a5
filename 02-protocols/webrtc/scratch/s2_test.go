package scratch

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"backend-protocols/02-protocols/webrtc/stun"
	"backend-protocols/internal/netem"
)

const page = `<!doctype html><script>
(async () => {
const cfg = {iceServers:[{urls:"stun:10.0.1.2:3478"}]};
const a = new RTCPeerConnection(cfg), b = new RTCPeerConnection(cfg);
const log = [];
a.onicecandidate = e => { if (e.candidate) { log.push("a "+e.candidate.candidate); b.addIceCandidate(e.candidate);} };
b.onicecandidate = e => { if (e.candidate) { log.push("b "+e.candidate.candidate); a.addIceCandidate(e.candidate);} };
const dc = a.createDataChannel("x");
setTimeout(() => fetch("/report", {method:"POST", body: "partial " + a.iceConnectionState + " " + a.connectionState + "\n" + log.join("\n")}), 8000);
b.ondatachannel = e => { e.channel.onmessage = m => e.channel.send("pong:"+m.data); };
const opened = new Promise(r => dc.onopen = r);
const got = new Promise(r => dc.onmessage = m => r(m.data));
await a.setLocalDescription(); await b.setRemoteDescription(a.localDescription);
await b.setLocalDescription(); await a.setRemoteDescription(b.localDescription);
await new Promise(r => setTimeout(r, 300)); log.push("OFFER\n" + a.localDescription.sdp + "ANSWER\n" + b.localDescription.sdp);
await opened; dc.send("hi"); log.push("reply " + await got);
const st = await a.getStats(); st.forEach(s => { if (s.type=="candidate-pair" && s.nominated) log.push("pair "+JSON.stringify(s)); });
await fetch("/report", {method:"POST", body: log.join("\n")});
})().catch(e => fetch("/report", {method:"POST", body: "error " + e}));
</script>`

func TestChromeNAT(t *testing.T) {
	c, err := netem.NewChain(netem.Hop{}, netem.Hop{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader("table ip nat {\n chain post {\n type nat hook postrouting priority srcnat\n oifname \"eth1\" masquerade\n }\n}\n")
	if out, err := func() ([]byte, error) { var o []byte; e := c.Hosts[1].Do(func() error { var e error; o, e = cmd.CombinedOutput(); return e }); return o, e }(); err != nil {
		t.Fatal(err, string(out))
	}
	if err := c.Hosts[0].AddRoute(netip.MustParsePrefix("0.0.0.0/0"), netip.MustParseAddr("10.0.0.2")); err != nil {
		t.Fatal(err)
	}
	pc, err := c.Server().ListenPacket("udp", "10.0.1.2:3478")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go (&stun.Server{Logf: t.Logf}).ServeUDP(ctx, pc.(*net.UDPConn))
	ln, err := c.Server().Listen("tcp", "10.0.1.2:8080")
	if err != nil {
		t.Fatal(err)
	}
	report := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, page) })
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) { b, _ := io.ReadAll(r.Body); report <- string(b) })
	go http.Serve(ln, mux)
	dir := t.TempDir()
	ch := exec.Command("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--user-data-dir="+dir,
		"--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
		"http://10.0.1.2:8080/")
	ch.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	ch.Stderr = os.Stderr
	if err := c.Hosts[0].Do(ch.Start); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-ch.Process.Pid, syscall.SIGKILL); ch.Wait() }()
	select {
	case r := <-report:
		t.Log(r)
	case <-time.After(30 * time.Second):
		t.Fatal("timeout")
	}
}
