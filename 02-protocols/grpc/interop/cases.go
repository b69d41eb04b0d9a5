package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"backend-protocols/02-protocols/grpc/grpcwire"
)

// A Case is the client side of one interop test: it makes its calls on c
// and returns nil when everything the test description asserts held.
type Case func(ctx context.Context, c *grpcwire.Client) error

// Cases are the test cases of interop-test-descriptions.md this package
// implements, by name; CaseNames lists them in the description's order.
var Cases = map[string]Case{
	"empty_unary":                 emptyUnary,
	"large_unary":                 largeUnary,
	"client_streaming":            clientStreaming,
	"server_streaming":            serverStreaming,
	"ping_pong":                   pingPong,
	"empty_stream":                emptyStream,
	"cancel_after_begin":          cancelAfterBegin,
	"cancel_after_first_response": cancelAfterFirstResponse,
	"timeout_on_sleeping_server":  timeoutOnSleepingServer,
	"custom_metadata":             customMetadata,
	"status_code_and_message":     statusCodeAndMessage,
	"special_status_message":      specialStatusMessage,
	"unimplemented_method":        unimplementedMethod,
	"unimplemented_service":       unimplementedService,
}

// CaseNames lists Cases in order.
var CaseNames = []string{"empty_unary", "large_unary", "client_streaming",
	"server_streaming", "ping_pong", "empty_stream", "cancel_after_begin",
	"cancel_after_first_response", "timeout_on_sleeping_server",
	"custom_metadata", "status_code_and_message", "special_status_message",
	"unimplemented_method", "unimplemented_service"}

func method(name string) string { return "/" + TestService + "/" + name }

func zeros(n int) *Payload { return &Payload{Body: make([]byte, n)} }

// checkBody asserts a payload of n zero bytes.
func checkBody(p *Payload, n int) error {
	if p == nil {
		return fmt.Errorf("got no payload, want %d bytes", n)
	}
	if len(p.Body) != n {
		return fmt.Errorf("got a %d-byte payload, want %d", len(p.Body), n)
	}
	if !bytes.Equal(p.Body, make([]byte, n)) {
		return errors.New("got a payload that is not all zeros")
	}
	return nil
}

func wantCode(err error, code grpcwire.Code) error {
	if got := grpcwire.CodeOf(err); got != code {
		return fmt.Errorf("got %v, want %v", err, code)
	}
	return nil
}

func emptyUnary(ctx context.Context, c *grpcwire.Client) error {
	if n := len((&Empty{}).MarshalAppend(nil)); n != 0 {
		return fmt.Errorf("Empty encodes to %d bytes, want 0", n)
	}
	var out Empty
	return c.Invoke(ctx, method("EmptyCall"), &Empty{}, &out)
}

func largeUnary(ctx context.Context, c *grpcwire.Client) error {
	var out SimpleResponse
	err := c.Invoke(ctx, method("UnaryCall"),
		&SimpleRequest{ResponseSize: 314159, Payload: zeros(271828)}, &out)
	if err != nil {
		return err
	}
	return checkBody(out.Payload, 314159)
}

func clientStreaming(ctx context.Context, c *grpcwire.Client) error {
	cs, err := c.NewStream(ctx, method("StreamingInputCall"))
	if err != nil {
		return err
	}
	for _, n := range []int{27182, 8, 1828, 45904} {
		if err := cs.Send(&StreamingInputCallRequest{Payload: zeros(n)}); err != nil {
			break // the status comes from CloseAndRecv
		}
	}
	var out StreamingInputCallResponse
	if err := cs.CloseAndRecv(&out); err != nil {
		return err
	}
	if out.AggregatedPayloadSize != 74922 {
		return fmt.Errorf("got aggregated size %d, want 74922", out.AggregatedPayloadSize)
	}
	return nil
}

var streamSizes = []int32{31415, 9, 2653, 58979}

func serverStreaming(ctx context.Context, c *grpcwire.Client) error {
	req := &StreamingOutputCallRequest{}
	for _, n := range streamSizes {
		req.ResponseParameters = append(req.ResponseParameters, &ResponseParameters{Size: n})
	}
	cs, err := c.NewStream(ctx, method("StreamingOutputCall"))
	if err != nil {
		return err
	}
	cs.Send(req)
	cs.CloseSend()
	var sizes []int32
	for {
		var out StreamingOutputCallResponse
		err := cs.Recv(&out)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if i := len(sizes); i < len(streamSizes) {
			if err := checkBody(out.Payload, int(streamSizes[i])); err != nil {
				return fmt.Errorf("response %d: %w", i+1, err)
			}
		}
		sizes = append(sizes, int32(len(out.Payload.Body)))
	}
	if len(sizes) != len(streamSizes) {
		return fmt.Errorf("got %d responses, want %d", len(sizes), len(streamSizes))
	}
	return nil
}

func pingPong(ctx context.Context, c *grpcwire.Client) error {
	cs, err := c.NewStream(ctx, method("FullDuplexCall"))
	if err != nil {
		return err
	}
	for i, in := range []int{27182, 8, 1828, 45904} {
		err := cs.Send(&StreamingOutputCallRequest{Payload: zeros(in),
			ResponseParameters: []*ResponseParameters{{Size: streamSizes[i]}}})
		if err != nil {
			return fmt.Errorf("request %d: %w", i+1, cs.Recv(&StreamingOutputCallResponse{}))
		}
		var out StreamingOutputCallResponse
		if err := cs.Recv(&out); err != nil {
			return fmt.Errorf("response %d: %w", i+1, err)
		}
		if err := checkBody(out.Payload, int(streamSizes[i])); err != nil {
			return fmt.Errorf("response %d: %w", i+1, err)
		}
	}
	cs.CloseSend()
	if err := cs.Recv(&StreamingOutputCallResponse{}); err != io.EOF {
		return fmt.Errorf("after four responses: got %v, want the end with OK", err)
	}
	return nil
}

func emptyStream(ctx context.Context, c *grpcwire.Client) error {
	cs, err := c.NewStream(ctx, method("FullDuplexCall"))
	if err != nil {
		return err
	}
	cs.CloseSend()
	if err := cs.Recv(&StreamingOutputCallResponse{}); err != io.EOF {
		return fmt.Errorf("got %v, want no responses and OK", err)
	}
	return nil
}

func cancelAfterBegin(ctx context.Context, c *grpcwire.Client) error {
	ctx, cancel := context.WithCancel(ctx)
	cs, err := c.NewStream(ctx, method("StreamingInputCall"))
	if err != nil {
		cancel()
		return err
	}
	cancel()
	return wantCode(cs.Recv(&StreamingInputCallResponse{}), grpcwire.Canceled)
}

func cancelAfterFirstResponse(ctx context.Context, c *grpcwire.Client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := c.NewStream(ctx, method("FullDuplexCall"))
	if err != nil {
		return err
	}
	cs.Send(&StreamingOutputCallRequest{Payload: zeros(27182),
		ResponseParameters: []*ResponseParameters{{Size: 31415}}})
	if err := cs.Recv(&StreamingOutputCallResponse{}); err != nil {
		return fmt.Errorf("first response: %w", err)
	}
	cancel()
	return wantCode(cs.Recv(&StreamingOutputCallResponse{}), grpcwire.Canceled)
}

func timeoutOnSleepingServer(ctx context.Context, c *grpcwire.Client) error {
	ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	cs, err := c.NewStream(ctx, method("FullDuplexCall"))
	if err != nil {
		return wantCode(err, grpcwire.DeadlineExceeded)
	}
	cs.Send(&StreamingOutputCallRequest{Payload: zeros(27182)})
	return wantCode(cs.Recv(&StreamingOutputCallResponse{}), grpcwire.DeadlineExceeded)
}

const (
	initialValue  = "test_initial_metadata_value"
	trailingValue = "\xab\xab\xab"
)

// checkEchoed asserts the echoed metadata of custom_metadata.
func checkEchoed(what string, hdr, trl grpcwire.Metadata) error {
	if got := hdr.Get(EchoInitialKey); got != initialValue {
		return fmt.Errorf("%s: got initial metadata %q, want %q", what, got, initialValue)
	}
	if got := trl.Get(EchoTrailingKey); got != trailingValue {
		return fmt.Errorf("%s: got trailing metadata %q, want %q", what, got, trailingValue)
	}
	return nil
}

func customMetadata(ctx context.Context, c *grpcwire.Client) error {
	md := grpcwire.Metadata{EchoInitialKey: {initialValue}, EchoTrailingKey: {trailingValue}}
	var hdr, trl grpcwire.Metadata
	var out SimpleResponse
	err := c.Invoke(ctx, method("UnaryCall"),
		&SimpleRequest{ResponseSize: 314159, Payload: zeros(271828)}, &out,
		grpcwire.WithMetadata(md), grpcwire.Header(&hdr), grpcwire.Trailer(&trl))
	if err != nil {
		return fmt.Errorf("UnaryCall: %w", err)
	}
	if err := checkEchoed("UnaryCall", hdr, trl); err != nil {
		return err
	}
	cs, err := c.NewStream(ctx, method("FullDuplexCall"), grpcwire.WithMetadata(md))
	if err != nil {
		return err
	}
	cs.Send(&StreamingOutputCallRequest{Payload: zeros(271828),
		ResponseParameters: []*ResponseParameters{{Size: 314159}}})
	cs.CloseSend()
	for {
		err := cs.Recv(&StreamingOutputCallResponse{})
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("FullDuplexCall: %w", err)
		}
	}
	hdr, err = cs.Header()
	if err != nil {
		return err
	}
	return checkEchoed("FullDuplexCall", hdr, cs.Trailer())
}

// checkStatus asserts the echoed status of status_code_and_message.
func checkStatus(what string, err error, code int32, msg string) error {
	st := grpcwire.StatusOf(err)
	if st.Code != grpcwire.Code(code) || st.Message != msg {
		return fmt.Errorf("%s: got %v %q, want %v %q", what, st.Code, st.Message,
			grpcwire.Code(code), msg)
	}
	return nil
}

func statusCodeAndMessage(ctx context.Context, c *grpcwire.Client) error {
	echo := &EchoStatus{Code: 2, Message: "test status message"}
	err := c.Invoke(ctx, method("UnaryCall"), &SimpleRequest{ResponseStatus: echo}, &SimpleResponse{})
	if err := checkStatus("UnaryCall", err, echo.Code, echo.Message); err != nil {
		return err
	}
	cs, err := c.NewStream(ctx, method("FullDuplexCall"))
	if err != nil {
		return err
	}
	cs.Send(&StreamingOutputCallRequest{ResponseStatus: echo})
	cs.CloseSend()
	return checkStatus("FullDuplexCall", cs.Recv(&StreamingOutputCallResponse{}),
		echo.Code, echo.Message)
}

func specialStatusMessage(ctx context.Context, c *grpcwire.Client) error {
	echo := &EchoStatus{Code: 2,
		Message: "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"}
	err := c.Invoke(ctx, method("UnaryCall"), &SimpleRequest{ResponseStatus: echo}, &SimpleResponse{})
	return checkStatus("UnaryCall", err, echo.Code, echo.Message)
}

func unimplementedMethod(ctx context.Context, c *grpcwire.Client) error {
	return wantCode(c.Invoke(ctx, method("UnimplementedCall"), &Empty{}, &Empty{}),
		grpcwire.Unimplemented)
}

func unimplementedService(ctx context.Context, c *grpcwire.Client) error {
	return wantCode(c.Invoke(ctx, "/"+UnimplementedService+"/UnimplementedCall", &Empty{}, &Empty{}),
		grpcwire.Unimplemented)
}
