package interop

import (
	"io"
	"time"

	"backend-protocols/02-protocols/grpc/grpcwire"
)

// Service names and the metadata keys the interop tests echo.
const (
	TestService          = "grpc.testing.TestService"
	UnimplementedService = "grpc.testing.UnimplementedService"
	EchoInitialKey       = "x-grpc-test-echo-initial"
	EchoTrailingKey      = "x-grpc-test-echo-trailing-bin"
)

// Bounds on what a request may ask the server to do, so that a stranger
// cannot make it allocate gigabytes or sleep for hours.
const (
	MaxResponseSize  = 16 << 20
	MaxResponses     = 1000
	MaxResponseDelay = 10 * time.Second
)

// Register adds grpc.testing.TestService to srv, with the server features
// of interop-test-descriptions.md the listed test cases use: EmptyCall,
// UnaryCall, StreamingOutputCall, StreamingInputCall, FullDuplexCall,
// HalfDuplexCall, Echo Status, Echo Metadata and interval_us.
// UnimplementedCall is left out on purpose: calling it must answer
// UNIMPLEMENTED. Compression is not implemented, so a request that
// expects a compressed message fails with INVALID_ARGUMENT, as the spec
// says for a request that is not compressed; response_compressed is
// ignored.
func Register(srv *grpcwire.Server) {
	srv.Register(TestService, map[string]grpcwire.Handler{
		"EmptyCall": grpcwire.Unary(func(s *grpcwire.ServerStream, _ *Empty) (grpcwire.Message, error) {
			echoMetadata(s)
			return &Empty{}, nil
		}),
		"UnaryCall":          grpcwire.Unary(unaryCall),
		"CacheableUnaryCall": grpcwire.Unary(unaryCall),
		"StreamingOutputCall": grpcwire.ServerStreaming(
			func(s *grpcwire.ServerStream, in *StreamingOutputCallRequest) error {
				echoMetadata(s)
				if err := respond(s, in); err != nil {
					return err
				}
				return echoStatus(in.ResponseStatus)
			}),
		"StreamingInputCall": streamingInputCall,
		"FullDuplexCall":     fullDuplexCall,
		"HalfDuplexCall":     halfDuplexCall,
	})
}

// echoMetadata sends back the two keys the custom_metadata case sends:
// one in the response headers, one in the trailers.
func echoMetadata(s *grpcwire.ServerStream) {
	md := s.Metadata()
	if v, ok := md[EchoInitialKey]; ok {
		s.SetHeader(grpcwire.Metadata{EchoInitialKey: v})
	}
	if v, ok := md[EchoTrailingKey]; ok {
		s.SetTrailer(grpcwire.Metadata{EchoTrailingKey: v})
	}
}

// echoStatus is the error that ends a call asking for a status.
func echoStatus(st *EchoStatus) error {
	if st == nil || st.Code == 0 {
		return nil
	}
	return &grpcwire.Status{Code: grpcwire.Code(st.Code), Message: st.Message}
}

// payload returns a body of n zeros, the only PayloadType there is.
func payload(t PayloadType, n int32) (*Payload, error) {
	if t != Compressable {
		return nil, grpcwire.Errorf(grpcwire.InvalidArgument, "unsupported payload type %d", t)
	}
	if n < 0 || n > MaxResponseSize {
		return nil, grpcwire.Errorf(grpcwire.InvalidArgument,
			"response size %d outside 0..%d", n, MaxResponseSize)
	}
	return &Payload{Body: make([]byte, n)}, nil
}

func expectsCompressed(b *BoolValue) error {
	if b != nil && b.Value {
		return grpcwire.Errorf(grpcwire.InvalidArgument,
			"expected a compressed request; this server agrees no compression")
	}
	return nil
}

func unaryCall(s *grpcwire.ServerStream, in *SimpleRequest) (grpcwire.Message, error) {
	echoMetadata(s)
	if err := expectsCompressed(in.ExpectCompressed); err != nil {
		return nil, err
	}
	if err := echoStatus(in.ResponseStatus); err != nil {
		return nil, err
	}
	p, err := payload(in.ResponseType, in.ResponseSize)
	if err != nil {
		return nil, err
	}
	return &SimpleResponse{Payload: p}, nil
}

func streamingInputCall(s *grpcwire.ServerStream) error {
	var total int32
	for {
		var in StreamingInputCallRequest
		err := s.Recv(&in)
		if err == io.EOF {
			return s.Send(&StreamingInputCallResponse{AggregatedPayloadSize: total})
		}
		if err != nil {
			return err
		}
		if err := expectsCompressed(in.ExpectCompressed); err != nil {
			return err
		}
		if in.Payload != nil {
			total += int32(len(in.Payload.Body))
		}
	}
}

// respond sends one response per ResponseParameters, each after its
// interval_us.
func respond(s *grpcwire.ServerStream, in *StreamingOutputCallRequest) error {
	if len(in.ResponseParameters) > MaxResponses {
		return grpcwire.Errorf(grpcwire.InvalidArgument, "more than %d responses", MaxResponses)
	}
	for _, p := range in.ResponseParameters {
		if err := pause(s, p.IntervalUs); err != nil {
			return err
		}
		body, err := payload(in.ResponseType, p.Size)
		if err != nil {
			return err
		}
		if err := s.Send(&StreamingOutputCallResponse{Payload: body}); err != nil {
			return err
		}
	}
	return nil
}

// pause waits interval_us microseconds, or until the call ends.
func pause(s *grpcwire.ServerStream, us int32) error {
	if us <= 0 {
		return nil
	}
	d := time.Duration(us) * time.Microsecond
	if d > MaxResponseDelay {
		return grpcwire.Errorf(grpcwire.InvalidArgument, "interval over %v", MaxResponseDelay)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.Context().Done():
		return s.Context().Err()
	}
}

// fullDuplexCall answers each request as it comes; a request with a
// response_status ends the call with it.
func fullDuplexCall(s *grpcwire.ServerStream) error {
	echoMetadata(s)
	for {
		var in StreamingOutputCallRequest
		err := s.Recv(&in)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := echoStatus(in.ResponseStatus); err != nil {
			return err
		}
		if err := respond(s, &in); err != nil {
			return err
		}
	}
}

// halfDuplexCall reads every request first, then answers them all.
func halfDuplexCall(s *grpcwire.ServerStream) error {
	echoMetadata(s)
	var reqs []*StreamingOutputCallRequest
	for {
		in := new(StreamingOutputCallRequest)
		err := s.Recv(in)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(reqs) == MaxResponses {
			return grpcwire.Errorf(grpcwire.InvalidArgument, "more than %d requests", MaxResponses)
		}
		reqs = append(reqs, in)
	}
	for _, in := range reqs {
		if err := respond(s, in); err != nil {
			return err
		}
	}
	return nil
}
