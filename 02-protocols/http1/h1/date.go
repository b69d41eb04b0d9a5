package h1

import (
	"sync/atomic"
	"time"
)

// dateCache formats the Date field (RFC 9110 section 6.6.1) once a second
// rather than once a response.
type dateCache struct {
	v atomic.Pointer[dateValue]
}

type dateValue struct {
	sec  int64
	text string
}

func (d *dateCache) get() string {
	now := time.Now()
	if v := d.v.Load(); v != nil && v.sec == now.Unix() {
		return v.text
	}
	v := &dateValue{now.Unix(), now.UTC().Format(time.RFC1123)}
	v.text = v.text[:len(v.text)-3] + "GMT" // RFC1123 prints "UTC"
	d.v.Store(v)
	return v.text
}
