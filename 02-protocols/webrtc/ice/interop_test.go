package ice

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/peer"
)

// interopPage offers a DataChannel, waits for gathering to end, posts
// its offer (candidates included) to /offer, applies the answer it gets
// back, and posts each ICE connection state to /state.
const interopPage = `<!doctype html><script>
(async () => {
  const pc = new RTCPeerConnection();
  const post = (path, body) => fetch(path, {method: "POST", body: body});
  pc.oniceconnectionstatechange = () => post("/state", pc.iceConnectionState);
  pc.createDataChannel("x");
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(r => {
    if (pc.iceGatheringState === "complete") r();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") r(); };
  });
  const answer = await (await post("/offer", pc.localDescription.sdp)).text();
  await pc.setRemoteDescription({type: "answer", sdp: answer});
  post("/state", "answer set");
})().catch(e => fetch("/state", {method: "POST", body: "error " + e}));
</script>`

// TestChromiumICE runs this package's agent against Chromium's ICE
// (libwebrtc), an independent implementation: Chromium offers, the agent
// parses the offer and answers (with a DTLS fingerprint it will never
// use: only ICE is under test), both check each other's candidates, and
// Chromium, controlling, nominates a pair the agent selects.
func TestChromiumICE(t *testing.T) {
	if peer.ChromiumPath() == "" {
		t.Skip("chromium not installed")
	}
	conn := udp(t)
	var ev events
	agent := newAgent(t, conn, Config{}, &ev) // the answerer: controlled
	g, err := agent.Gather(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	states := make(chan string, 16)
	offers := make(chan Params, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, interopPage)
	})
	mux.HandleFunc("POST /state", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1024))
		select {
		case states <- string(b):
		default:
		}
	})
	mux.HandleFunc("POST /offer", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, MaxSDP))
		offer, err := Parse(b)
		if err != nil {
			t.Errorf("Chromium's offer: %v\n%s", err, b)
			http.Error(w, err.Error(), 400)
			return
		}
		p, err := offer.ICE(0)
		if err != nil {
			t.Errorf("Chromium's offer: %v", err)
			http.Error(w, err.Error(), 400)
			return
		}
		offers <- p
		// Candidates we cannot use (IPv6, TCP) come back as errors:
		// log them, they are expected.
		if err := agent.SetRemote(p); err != nil {
			t.Logf("skipped: %v", err)
		}
		io.WriteString(w, string(answerFor(agent, g, offer).Marshal()))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	b, err := peer.OpenBrowser(context.Background(), "http://"+ln.Addr().String()+"/",
		"--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	var offer Params
	select {
	case offer = <-offers:
	case s := <-states:
		t.Fatalf("page: %s\n%s", s, b.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("no offer from Chromium\n%s", b.Log())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sel, err := agent.Connect(ctx)
	if err != nil {
		list, _ := agent.Pairs()
		t.Fatalf("no pair selected: %v; checklist %v\n%s", err, list, b.Log())
	}
	// A controlled agent selects a pair once its own check on it has
	// succeeded: Chromium accepted our check's USERNAME, PRIORITY,
	// ICE-CONTROLLED, MESSAGE-INTEGRITY and FINGERPRINT, and its answer
	// passed ours.
	t.Logf("selected %v; Chromium's candidates %d", sel, len(offer.Candidates))
	found := false
	for _, c := range offer.Candidates {
		found = found || c.Addr == sel.Remote.Addr
	}
	if !found && sel.Remote.Type != PeerReflexive {
		t.Errorf("selected remote %v is none of Chromium's candidates", sel.Remote)
	}
	// Chromium calls the connection "connected" once one of its checks
	// succeeded: our answers passed its integrity and fingerprint checks.
	deadline := time.After(20 * time.Second)
	for connected := false; !connected; {
		select {
		case s := <-states:
			connected = s == "connected" || s == "completed"
			if strings.HasPrefix(s, "error") || s == "failed" {
				t.Fatalf("Chromium's ICE: %s", s)
			}
		case <-deadline:
			t.Fatal("Chromium never reported iceConnectionState connected")
		}
	}
	st := agent.Stats()
	if st.RequestsIn == 0 || st.ResponsesOut == 0 || st.ChecksSent == 0 {
		t.Errorf("stats %+v: want checks both ways", st)
	}
	if ev.count(EventSelected) != 1 {
		t.Error("no selection event")
	}
}

// answerFor is an answer Chromium accepts for its DataChannel offer:
// the same m= line, our ICE credentials and candidates, and the DTLS
// attributes WebRTC requires (a fingerprint of no certificate: DTLS will
// fail after ICE, which is all this test is about).
func answerFor(a *Agent, g Gathered, offer *Session) *Session {
	om := offer.Media[0]
	host := g.Candidates[0].Addr
	fp := make([]string, 32)
	for i := range fp {
		fp[i] = fmt.Sprintf("%02X", i)
	}
	s := &Session{
		Origin: Origin{"-", "1", "1", "IN", "IP4", host.Addr().String()},
		Name:   "-",
		Lines:  []Line{{'t', "0 0"}},
	}
	if v, ok := Attr(offer.Attributes, "group"); ok {
		s.Attributes = append(s.Attributes, Attribute{Name: "group", Value: v})
	}
	mid, _ := Attr(om.Attributes, "mid")
	m := &Media{Type: om.Type, Port: int(host.Port()), Proto: om.Proto, Formats: om.Formats,
		Lines: []Line{{'c', "IN IP4 " + host.Addr().String()}},
		Attributes: []Attribute{{Name: "mid", Value: mid},
			{Name: "setup", Value: "active"},
			{Name: "fingerprint", Value: "sha-256 " + strings.Join(fp, ":")},
			{Name: "sctp-port", Value: "5000"}}}
	ufrag, pwd := a.Local()
	m.SetICE(Params{Ufrag: ufrag, Pwd: pwd, Candidates: g.Candidates})
	s.Media = []*Media{m}
	return s
}
