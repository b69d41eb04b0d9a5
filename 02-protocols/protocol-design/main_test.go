package main

import (
	"backend-protocols/internal/leak"
	"context"
	"slices"
	"testing"
	"time"

	"backend-protocols/02-protocols/protocol-design/kv"
	"backend-protocols/internal/timeline"
)

func TestProtocolDesign(t *testing.T) {
	const cold = 20 * time.Millisecond
	res, err := scenario(context.Background(), timeline.Quiet(), cold)
	if err != nil {
		t.Fatal(err)
	}
	if left := leak.Gone(5*time.Second, "kv.(*Client).readLoop", "kv.(*Server).Serve",
		"main.(*server)"); len(left) > 0 {
		t.Errorf("goroutines left: %v", left)
	}
	t.Run("bytes", func(t *testing.T) {
		for _, r := range res.Sizes {
			if r.Binary >= r.Text {
				t.Errorf("%s: got %d binary bytes, %d JSON; want binary smaller",
					r.Name, r.Binary, r.Text)
			}
		}
		// GET user:42: a 12-byte header, a 2-byte key length, 7 key bytes.
		if got := res.Sizes[0].Binary; got != 12+2+7 {
			t.Errorf("GET user:42: got %d bytes, want 21", got)
		}
	})
	t.Run("speed", func(t *testing.T) {
		for _, r := range res.Speed {
			if r.Binary <= 0 || r.Binary >= r.Text {
				t.Errorf("%s: got binary %v, JSON %v per message; want binary faster",
					r.Op, r.Binary, r.Text)
			}
		}
	})
	t.Run("partial reads", func(t *testing.T) {
		if !slices.Equal(res.Reads, []int{5, 9, 28}) {
			t.Errorf("got reads of %v bytes, want [5 9 28]", res.Reads)
		}
		// The header first, then exactly what the length prefix says.
		if !slices.Equal(res.Needs, []int{12, 42, 42}) {
			t.Errorf("got needs %v, want [12 42 42]", res.Needs)
		}
	})
	t.Run("out of order, matched by id", func(t *testing.T) {
		if res.Sent[0] != "cold:report" || res.Answered[len(res.Answered)-1] != "cold:report" {
			t.Errorf("sent %v, answered %v; want the cold key sent first, answered last",
				res.Sent, res.Answered)
		}
		if !res.Matched {
			t.Error("a reply was matched to the wrong request")
		}
	})
	t.Run("versions", func(t *testing.T) {
		if m := res.V1OnV2; m.Version != 1 || m.Status != kv.StatusOK {
			t.Errorf("v1 request to a v2 server: got %v, want an ok v1 reply", m)
		}
		if res.TTLLived < 30*time.Millisecond || res.TTLLived > 2*time.Second {
			t.Errorf("got a 30ms TTL that lived %v", res.TTLLived)
		}
		if m := res.Refused; m.Status != kv.StatusUnsupportedVersion || m.Version != 1 {
			t.Errorf("v2 request to a v1 server: got %v, want unsupported-version in v1", m)
		}
		if res.Fallback.Status != kv.StatusOK {
			t.Errorf("fallback to v1: got %v, want ok", res.Fallback)
		}
		if m := res.Future; m.ID != 77 || m.Version != 2 ||
			m.Status != kv.StatusUnsupportedVersion {
			t.Errorf("v3 frame: got %v, want id 77 unsupported-version in v2", m)
		}
		if m := res.NextAfter; m.ID != 78 || m.Status != kv.StatusOK {
			t.Errorf("after the v3 frame: got %v, want id 78 ok", m)
		}
	})
	t.Run("text twin", func(t *testing.T) {
		want := `{"v":1,"type":"get-reply","id":1,"status":"ok","value":"value of user:1"}`
		if res.TextReply != want {
			t.Errorf("got %s, want %s", res.TextReply, want)
		}
		if m := res.BadLine; m.ID != 2 || m.Status != kv.StatusBadRequest {
			t.Errorf("unknown field: got %v, want id 2 bad-request", m)
		}
	})
}
