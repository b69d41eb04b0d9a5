package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"backend-protocols/internal/timeline"
)

// frameView opens an HTTP/2 connection with prior knowledge (h2c) by hand,
// asks for path, and prints every frame the server sends until the stream
// ends: on HTTP/2 an event stream is one stream of DATA frames, and the
// connection stays free for other streams.
func frameView(ctx context.Context, tl *timeline.Timeline, addr, path string) (dataFrames int, err error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		return 0, err
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		return 0, err
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range []hpack.HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: addr}, {Name: ":path", Value: path},
		{Name: "accept", Value: "text/event-stream"},
	} {
		enc.WriteField(f)
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1,
		BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		return 0, err
	}
	tl.Send("h2c", "server", "HEADERS stream=1 GET %s (END_STREAM)", path)
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return dataFrames, err
		}
		h := f.Header()
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
			tl.Send("server", "h2c", "SETTINGS stream=0 ack=%v", f.IsAck())
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				return dataFrames, err
			}
			var s []string
			for _, hf := range fields {
				s = append(s, hf.Name+"="+hf.Value)
			}
			tl.Send("server", "h2c", "HEADERS stream=%d %v", h.StreamID, s)
		case *http2.DataFrame:
			dataFrames++
			tl.Send("server", "h2c", "DATA stream=%d len=%d end_stream=%v %q",
				h.StreamID, h.Length, f.StreamEnded(), f.Data())
			if f.StreamEnded() {
				return dataFrames, nil
			}
		case *http2.WindowUpdateFrame:
			tl.Send("server", "h2c", "WINDOW_UPDATE stream=%d +%d", h.StreamID, f.Increment)
		case *http2.GoAwayFrame:
			return dataFrames, fmt.Errorf("GOAWAY %v", f.ErrCode)
		case *http2.RSTStreamFrame:
			return dataFrames, fmt.Errorf("RST_STREAM %v", f.ErrCode)
		default:
			tl.Send("server", "h2c", "%v stream=%d", h.Type, h.StreamID)
		}
	}
}
