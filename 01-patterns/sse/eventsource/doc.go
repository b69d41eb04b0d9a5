// Package eventsource reads and writes server-sent event streams
// (text/event-stream), as the HTML Living Standard specifies them in
// "Server-sent events" (section 9.2; the parsing rules are 9.2.6,
// "Interpreting an event stream").
//
// A stream is UTF-8 text made of lines; a blank line ends an event:
//
//	retry: 1000                  <- reconnection time in ms (digits only)
//	: any comment                <- ignored; servers send these as keep-alives
//	id: s1.7                     <- becomes the last event ID
//	event: milestone             <- event type (default "message")
//	data: first line             <- data lines are joined with "\n"
//	data: second line
//	                             <- blank line: dispatch the event
//
// Lines end with CRLF, LF or CR; one leading byte order mark is skipped; a
// field is the text before the first colon and the value the text after
// it, less one leading space; unknown fields are ignored; an id containing
// NULL is ignored; an event with no data is not dispatched, but its id
// still updates the last event ID; an event cut off by the end of the
// stream is discarded. Invalid UTF-8 becomes U+FFFD, one per maximal
// invalid subsequence, as the Encoding Standard's UTF-8 decoder does.
//
// Decoder is the client side (what the browser's EventSource does with the
// bytes). Encoder is the server side. Reconnection with Last-Event-ID is
// the caller's job: Decoder.LastEventID and Decoder.Retry give what it
// needs. At teaching scale the package leaves out the browser's
// cross-origin rules and the network-level retry loop.
//
// Every length read from the network is bounded (Decoder.MaxLine,
// Decoder.MaxData), so a hostile stream costs bounded memory.
package eventsource
