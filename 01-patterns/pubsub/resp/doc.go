// Package resp reads and writes RESP, the Redis serialization protocol
// (../shared/rfc/redis-protocol-spec.md): RESP2 and the RESP3 types, the
// inline command form that telnet users type, and a small client.
//
// Every value starts with a type byte and ends with CRLF:
//
//	+OK\r\n                           simple string
//	-ERR unknown command\r\n          simple error
//	:1000\r\n                         integer
//	$5\r\nhello\r\n                   bulk string ($-1\r\n is RESP2's null)
//	*2\r\n$3\r\nfoo\r\n:7\r\n         array of two values (*-1\r\n: null)
//	_\r\n  #t\r\n  ,3.14\r\n  (123\r\n  RESP3 null, boolean, double, big number
//	!5\r\nERR x\r\n  =7\r\ntxt:abc\r\n  RESP3 bulk error, verbatim string
//	%1\r\n+k\r\n:1\r\n                RESP3 map (pairs), ~ set, > push
//
// A client sends a command as an array of bulk strings
// (*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$2\r\nhi\r\n); a server also accepts
// an inline command, one line of space-separated words with Redis's
// quoting rules (PUBLISH ch "hello world"\r\n).
//
// Reading is safe against hostile input: every length is bounded
// (Limits: bulk size, aggregate length, nesting depth, line length), no
// allocation is sized from a length before the bytes arrive, and errors
// are returned, never panics. Attributes (the RESP3 '|' type) and
// streamed strings and aggregates are left out at teaching scale.
package resp
