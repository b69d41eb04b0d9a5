package ice

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// crlf joins lines with CRLF, as SDP is sent.
func crlf(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// rfc8866Example is the example description of RFC 8866 section 5.
var rfc8866Example = crlf(
	"v=0",
	"o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1",
	"s=Call to John Smith",
	"i=SDP Offer #1",
	"u=http://www.jdoe.example.com/home.html",
	"e=Jane Doe <jane@jdoe.example.com>",
	"p=+1 617 555-6011",
	"c=IN IP4 198.51.100.1",
	"t=0 0",
	"m=audio 49170 RTP/AVP 0",
	"m=audio 49180 RTP/AVP 0",
	"m=video 51372 RTP/AVP 99",
	"c=IN IP6 2001:db8::2",
	"a=rtpmap:99 h263-1998/90000")

// rfc8839Example is the ICE example of RFC 8839 (the candidate line the
// RFC folds is one line here).
var rfc8839Example = crlf(
	"v=0",
	"o=jdoe 2890844526 2890842807 IN IP4 203.0.113.141",
	"s=",
	"c=IN IP4 192.0.2.3",
	"t=0 0",
	"a=ice-options:ice2",
	"a=ice-pacing:50",
	"a=ice-pwd:asd88fgpdd777uzjYhagZg",
	"a=ice-ufrag:8hhY",
	"m=audio 45664 RTP/AVP 0",
	"b=RS:0",
	"b=RR:0",
	"a=rtpmap:0 PCMU/8000",
	"a=candidate:1 1 UDP 2130706431 203.0.113.141 8998 typ host",
	"a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998")

func TestParseRFC8866Example(t *testing.T) {
	s, err := Parse(rfc8866Example)
	if err != nil {
		t.Fatal(err)
	}
	if s.Origin.Username != "jdoe" || s.Origin.Address != "198.51.100.1" || s.Name != "Call to John Smith" {
		t.Errorf("got origin %+v name %q", s.Origin, s.Name)
	}
	if len(s.Media) != 3 || s.Media[2].Type != "video" || s.Media[2].Port != 51372 ||
		s.Media[2].Formats[0] != "99" {
		t.Fatalf("got %d media sections, want 3 ending with video 51372 99", len(s.Media))
	}
	if v, _ := Attr(s.Media[2].Attributes, "rtpmap"); v != "99 h263-1998/90000" {
		t.Errorf("got rtpmap %q", v)
	}
	if got := s.Marshal(); !bytes.Equal(got, rfc8866Example) {
		t.Errorf("Marshal:\n%s\nwant\n%s", got, rfc8866Example)
	}
}

// TestParseRFC8839Example reads the session-level ICE credentials and
// the media-level candidates. Its "s=" is empty, which RFC 8866 forbids
// and RFC 8839's example has anyway: Parse refuses it, and accepts the
// same description with "s=-".
func TestParseRFC8839Example(t *testing.T) {
	if _, err := Parse(rfc8839Example); !errors.Is(err, ErrSDP) {
		t.Errorf("empty s=: got %v, want ErrSDP", err)
	}
	s, err := Parse(bytes.Replace(rfc8839Example, []byte("s=\r\n"), []byte("s=-\r\n"), 1))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.ICE(0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Ufrag != "8hhY" || p.Pwd != "asd88fgpdd777uzjYhagZg" || len(p.Options) != 1 || p.Options[0] != "ice2" {
		t.Errorf("got %+v", p)
	}
	if len(p.Candidates) != 2 || p.Candidates[1].Type != ServerReflexive ||
		p.Candidates[1].Related.String() != "203.0.113.141:8998" {
		t.Errorf("got candidates %v", p.Candidates)
	}
}

// TestParseChromiumOffer reads an offer Chromium 156 made for a
// DataChannel behind this repo's NAT, byte for byte.
func TestParseChromiumOffer(t *testing.T) {
	raw, err := os.ReadFile("testdata/chromium-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	m := s.Media[0]
	if m.Type != "application" || m.Proto != "UDP/DTLS/SCTP" || m.Formats[0] != "webrtc-datachannel" {
		t.Errorf("got m=%s %d %s %v", m.Type, m.Port, m.Proto, m.Formats)
	}
	p, err := s.ICE(0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Ufrag != "J58B" || len(p.Candidates) != 2 || p.Candidates[1].Addr.String() != "10.0.1.1:52668" {
		t.Errorf("got %+v", p)
	}
	if v, _ := Attr(s.Attributes, "msid-semantic"); v != " WMS" {
		t.Errorf("got msid-semantic %q, want it kept as is", v)
	}
	if got := s.Marshal(); !bytes.Equal(got, raw) {
		t.Errorf("Marshal changed it:\n%s", got)
	}
}

func TestSetICE(t *testing.T) {
	s, _ := Parse(rfc8866Example)
	host, _ := ParseCandidate("candidate:1 1 UDP 2130706431 10.0.0.1 40000 typ host")
	s.Media[0].SetICE(Params{Ufrag: "abcd", Pwd: strings.Repeat("p", 22), Candidates: []Candidate{host}})
	back, err := Parse(s.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	p, err := back.ICE(0)
	if err != nil || p.Ufrag != "abcd" || len(p.Candidates) != 1 || p.Candidates[0].String() != host.String() {
		t.Errorf("got %+v, %v", p, err)
	}
	if _, err := back.ICE(1); err == nil {
		t.Error("got ICE parameters from a section without them")
	}
}

func TestParseRejects(t *testing.T) {
	good := "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
	cases := map[string]string{
		"empty":           "",
		"no v=":           "o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
		"v=1":             strings.Replace(good, "v=0", "v=1", 1),
		"short o=":        strings.Replace(good, "o=- 1 1 IN IP4 0.0.0.0", "o=- 1 1 IN IP4", 1),
		"no s=":           strings.Replace(good, "s=-\r\n", "", 1),
		"no t=":           strings.Replace(good, "t=0 0\r\n", "", 1),
		"m= before t=":    strings.Replace(good, "t=0 0\r\n", "m=audio 1 RTP/AVP 0\r\nt=0 0\r\n", 1),
		"unknown type":    good + "x=1\r\n",
		"space before =":  good + "a =x\r\n",
		"t= in media":     good + "m=audio 1 RTP/AVP 0\r\nt=0 0\r\n",
		"second v=":       good + "v=0\r\n",
		"m= no formats":   good + "m=audio 1 RTP/AVP\r\n",
		"m= bad port":     good + "m=audio 70000 RTP/AVP 0\r\n",
		"bare CR":         good + "a=x\ry\r\n",
		"NUL":             good + "a=x\x00\r\n",
		"attribute name":  good + "a=:x\r\n",
		"too many media":  good + strings.Repeat("m=audio 1 RTP/AVP 0\r\n", MaxMedia+1),
		"too many lines":  good + strings.Repeat("a=x\r\n", MaxSDPLines),
		"too big":         good + "a=x:" + strings.Repeat("y", MaxSDP) + "\r\n",
		"bad candidate":   good + "m=audio 1 RTP/AVP 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:" + strings.Repeat("p", 22) + "\r\na=candidate:1 1 UDP 0 1.2.3.4 1 typ host\r\n",
		"short ice-pwd":   good + "m=audio 1 RTP/AVP 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:short\r\n",
		"ufrag bad chars": good + "m=audio 1 RTP/AVP 0\r\na=ice-ufrag:ab-cd\r\na=ice-pwd:" + strings.Repeat("p", 22) + "\r\n",
	}
	for name, text := range cases {
		s, err := Parse([]byte(text))
		if err == nil {
			_, err = s.ICE(0)
		}
		if !errors.Is(err, ErrSDP) && !errors.Is(err, ErrCandidate) {
			t.Errorf("%s: got %v, want ErrSDP or ErrCandidate", name, err)
		}
	}
	// LF alone ends lines too (section 5 asks parsers to accept it).
	if _, err := Parse([]byte(strings.ReplaceAll(good, "\r\n", "\n"))); err != nil {
		t.Errorf("LF line ends: %v", err)
	}
}

func FuzzParseSDP(f *testing.F) {
	chromium, _ := os.ReadFile("testdata/chromium-offer.sdp")
	for _, b := range [][]byte{rfc8866Example, rfc8839Example, chromium} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		for i := range s.Media {
			s.ICE(i)
		}
		// What parses marshals to a description that parses and
		// marshals to the same bytes.
		out := s.Marshal()
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("%q parsed, its Marshal %q did not: %v", b, out, err)
		}
		if again := back.Marshal(); !bytes.Equal(again, out) {
			t.Fatalf("Marshal not stable:\n%q\n%q", out, again)
		}
	})
}
