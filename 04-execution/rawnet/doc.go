// Package rawnet is the raw-socket plumbing that chapter 4's servers share:
// listening, accepting and reading with the system calls themselves
// (socket, bind, listen, accept4, epoll, eventfd, read, write, close,
// through golang.org/x/sys/unix), a minimal HTTP/1.1 request reader and
// response writer on those descriptors, and a keep-alive test client. The
// readers for the kernel's own counters (/proc/net/tcp, /proc/net/netstat,
// TCP_INFO, SIOCINQ, SIOCOUTQ, getrusage) are in internal/kernel, which
// chapter 2 shares. It is Linux only.
//
// # The event loop
//
// A Loop is one OS thread (runtime.LockOSThread) blocked in epoll_wait on
// one epoll instance. It owns the connections registered with it, and
// wakes for three kinds of descriptor:
//
//	listening socket  readable -> accept4 (non-blocking) -> register the fd
//	connection        readable -> read, parse requests, answer, write
//	                  writable -> write what the last write left over
//	eventfd           written by another thread -> run what it posted
//	                  (adopt an accepted fd, an async reply, Close)
//
// The chapter's architectures are arrangements of loops: one loop with
// the listener (single thread), an acceptor thread handing fds to N loops
// (multiple readers), N loops on one listener (multiple acceptors), N
// listeners with SO_REUSEPORT (sharding), a loop whose handler hands
// requests to worker threads and gets the answers back through the
// eventfd (message load balancing).
//
// # What goes over the wire
//
// A request, as RFC 9112 section 2.1 draws it, and what this reader takes:
//
//	request-line   = method SP request-target SP HTTP-version CRLF  (3)
//	*( field-line CRLF )    field-name ":" OWS field-value OWS     (5)
//	CRLF
//	[ message-body ]        exactly Content-Length octets           (6.2)
//
// The writer sends
//
//	HTTP/1.1 200 OK\r\n
//	Content-Type: text/plain; charset=utf-8\r\n
//	Content-Length: 6\r\n
//	Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n    (RFC 9110 section 6.6.1)
//	\r\n
//	hello\n
//
// with "Connection: close" when it will close after the response.
//
// # Bounds and errors
//
// The request line and header section are at most MaxHeaderBytes (431
// otherwise), at most MaxHeaders fields (431), a body at most MaxBodyBytes
// (413). A malformed request (bad request line, whitespace before a
// field's colon, obs-fold, control characters, a missing or repeated Host
// in HTTP/1.1, conflicting Content-Length) gets 400 and the connection is
// closed (RFC 9112 sections 3, 3.2, 5.1, 5.2, 6.3); an HTTP version other
// than 1.0 and 1.1 gets 505; a request with Transfer-Encoding gets 501
// (RFC 9112 section 6.1 lets a server refuse a transfer coding it does not
// implement). A client that resets or vanishes mid-request costs nothing
// but its descriptor, which is closed at once. Nothing here panics on
// input from the network.
//
// # Left out at teaching scale
//
// Chunked request bodies (refused with 501), trailers, 100-continue, TLS,
// the HTTP/2 upgrade, request smuggling defences beyond refusing
// Transfer-Encoding, and timeouts for idle or slow clients: a client that
// sends half a request and waits holds its descriptor until it goes.
// Absolute-form targets are passed to the handler as they came. The
// client reads only responses framed by Content-Length.
package rawnet
