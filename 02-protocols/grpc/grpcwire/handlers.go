package grpcwire

// Unary adapts fn to a Handler for a method that takes one request and
// returns one response:
//
//	grpcwire.Unary(func(s *grpcwire.ServerStream, in *TodoItem) (grpcwire.Message, error) {
//		...
//	})
//
// The request is read (exactly one, or UNIMPLEMENTED) before fn runs.
func Unary[Req any, PReq interface {
	*Req
	Message
}](fn func(s *ServerStream, req PReq) (Message, error)) Handler {
	return func(s *ServerStream) error {
		req := PReq(new(Req))
		if err := s.RecvOne(req); err != nil {
			return err
		}
		resp, err := fn(s, req)
		if err != nil {
			return err
		}
		// No flush: net/http then sends headers, message and trailers
		// together when the handler returns.
		return s.send(resp, false)
	}
}

// ServerStreaming adapts fn to a Handler for a method that takes one
// request and sends a stream of responses with s.Send.
func ServerStreaming[Req any, PReq interface {
	*Req
	Message
}](fn func(s *ServerStream, req PReq) error) Handler {
	return func(s *ServerStream) error {
		req := PReq(new(Req))
		if err := s.RecvOne(req); err != nil {
			return err
		}
		return fn(s, req)
	}
}
