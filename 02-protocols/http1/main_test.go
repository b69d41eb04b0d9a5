package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"backend-protocols/internal/demo"
	"backend-protocols/internal/timeline"
)

var testCfg = config{Pieces: 4, Interval: 30 * time.Millisecond,
	Slow: 80 * time.Millisecond, Requests: 10}

func TestScenario(t *testing.T) {
	res, err := scenario(context.Background(), timeline.Quiet(), testCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(res, testCfg); err != nil {
		t.Fatal(err)
	}
	if res.KeepAlive.Accepted != 1 || res.Close.Accepted != 10 {
		t.Errorf("got %d and %d connections, want 1 and 10",
			res.KeepAlive.Accepted, res.Close.Accepted)
	}
	// Head-of-line blocking: the quick answers arrive no sooner than the
	// slow one, though they took no time to make.
	if a := res.PipeArrival; a[1] < testCfg.Slow || a[2] < testCfg.Slow {
		t.Errorf("got arrivals %v, want all after %v", a, testCfg.Slow)
	}
	// The stream arrives piece by piece: piece k cannot arrive before
	// the server has waited k intervals to send it.
	for k, at := range res.StreamArrival {
		if at < time.Duration(k)*testCfg.Interval {
			t.Errorf("piece %d arrived after %v, want no sooner than %v",
				k+1, at, time.Duration(k)*testCfg.Interval)
		}
	}
	if res.SmuggleStatus != 400 || !res.SmuggleClosed || res.AdminServed {
		t.Errorf("smuggling: got %d closed=%v admin=%v, want 400, closed, never served",
			res.SmuggleStatus, res.SmuggleClosed, res.AdminServed)
	}
	if res.LorisStatus != 408 || res.LorisCut < 200*time.Millisecond ||
		res.LorisCut > 3*time.Second {
		t.Errorf("slow loris: got %d after %v, want 408 after about 200ms",
			res.LorisStatus, res.LorisCut)
	}
	if res.FastRequests < 10 || res.FastLatency.P90 > 100*time.Millisecond {
		t.Errorf("fast clients: got %d requests, %s; want them unhindered",
			res.FastRequests, res.FastLatency)
	}
}

// TestCurl points curl at the -serve server: any path answers 200, POST
// echoes, a chunked upload and an HTTP/1.0 request work, and the stream
// arrives whole.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	run, err := demo.Start(context.Background(), "127.0.0.1:0",
		newServer(testCfg, timeline.Quiet()).serve)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := run.Close(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	url := run.URL
	cases := []struct {
		args []string
		want string
	}{
		{[]string{url + "/any/path?x=1"}, "hello from h1, you asked for /any/path?x=1\n"},
		{[]string{"-d", "echo me", url + "/"}, "echo me"},
		{[]string{"-H", "Transfer-Encoding: chunked", "--data-binary", "streamed up", url}, "streamed up"},
		{[]string{"-H", "Expect: 100-continue", "--data-binary", strings.Repeat("z", 2000), url},
			strings.Repeat("z", 2000)},
		{[]string{"--http1.0", url + "/old"}, "hello from h1, you asked for /old\n"},
		{[]string{"-N", url + "/stream"}, "piece 1 of 4\npiece 2 of 4\npiece 3 of 4\npiece 4 of 4\n"},
		// Three URLs, one connection: curl reuses it (keep-alive).
		{[]string{"-w", "%{http_code} %{num_connects};", "-o", "/dev/null", url + "/a",
			"-o", "/dev/null", url + "/b", "-o", "/dev/null", url + "/c"}, "200 1;200 0;200 0;"},
	}
	for _, tc := range cases {
		cctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(cctx, curl, append([]string{"-sS", "--fail"}, tc.args...)...).CombinedOutput()
		stop()
		if err != nil || string(out) != tc.want {
			t.Errorf("curl %q: got %q %v, want %q", tc.args, out, err, tc.want)
		}
	}
}
