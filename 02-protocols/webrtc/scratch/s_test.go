package scratch

import (
	"testing"
	"time"

	"backend-protocols/internal/netem"
)

func TestChainTime(t *testing.T) {
	start := time.Now()
	c, err := netem.NewChain(netem.Hop{}, netem.Hop{}, netem.Hop{}, netem.Hop{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built in %v", time.Since(start))
	start = time.Now()
	c.Close()
	t.Logf("closed in %v", time.Since(start))
}
