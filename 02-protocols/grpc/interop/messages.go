package interop

import pw "backend-protocols/02-protocols/grpc/protowire"

// The messages of grpc.testing (messages.proto and empty.proto in
// ../../shared/rfc/grpc-testing) that the test cases use, written by
// hand. Each keeps the fields it does not know and writes them back.
// Unmarshal resets the message, Merge decodes into what it holds.

// Empty is grpc.testing.Empty.
type Empty struct {
	Unknown []byte
}

func (m *Empty) MarshalAppend(b []byte) []byte { return append(b, m.Unknown...) }
func (m *Empty) Unmarshal(b []byte) error      { *m = Empty{}; return m.Merge(b) }
func (m *Empty) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		m.Unknown = r.AppendUnknown(m.Unknown)
	}
	return r.Err()
}

// BoolValue is grpc.testing.BoolValue.
type BoolValue struct {
	Value   bool
	Unknown []byte
}

func (m *BoolValue) MarshalAppend(b []byte) []byte {
	if m.Value {
		b = pw.AppendBool(b, 1, true)
	}
	return append(b, m.Unknown...)
}

func (m *BoolValue) Unmarshal(b []byte) error { *m = BoolValue{}; return m.Merge(b) }
func (m *BoolValue) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Varint):
			m.Value = r.Bool()
		default:
			m.Unknown = r.AppendUnknown(m.Unknown)
		}
	}
	return r.Err()
}

// PayloadType is grpc.testing.PayloadType; COMPRESSABLE (0) is its only
// value.
type PayloadType int32

// Compressable is the one payload type: a body of zeros.
const Compressable PayloadType = 0

// Payload is grpc.testing.Payload.
type Payload struct {
	Type    PayloadType
	Body    []byte
	Unknown []byte
}

func (m *Payload) MarshalAppend(b []byte) []byte {
	if m.Type != 0 {
		b = pw.AppendInt32(b, 1, int32(m.Type))
	}
	if len(m.Body) > 0 {
		b = pw.AppendBytes(b, 2, m.Body)
	}
	return append(b, m.Unknown...)
}

func (m *Payload) Unmarshal(b []byte) error { *m = Payload{}; return m.Merge(b) }
func (m *Payload) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Varint):
			m.Type = PayloadType(r.Int32())
		case pw.MakeTag(2, pw.Len):
			m.Body = r.Bytes()
		default:
			m.Unknown = r.AppendUnknown(m.Unknown)
		}
	}
	return r.Err()
}

// EchoStatus is grpc.testing.EchoStatus: the status a request asks the
// server to end with.
type EchoStatus struct {
	Code    int32
	Message string
	Unknown []byte
}

func (m *EchoStatus) MarshalAppend(b []byte) []byte {
	if m.Code != 0 {
		b = pw.AppendInt32(b, 1, m.Code)
	}
	if m.Message != "" {
		b = pw.AppendString(b, 2, m.Message)
	}
	return append(b, m.Unknown...)
}

func (m *EchoStatus) Unmarshal(b []byte) error { *m = EchoStatus{}; return m.Merge(b) }
func (m *EchoStatus) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Varint):
			m.Code = r.Int32()
		case pw.MakeTag(2, pw.Len):
			m.Message = r.Text()
		default:
			m.Unknown = r.AppendUnknown(m.Unknown)
		}
	}
	return r.Err()
}

// SimpleRequest is grpc.testing.SimpleRequest. Field 11 (an ORCA load
// report) is not used here and travels as an unknown field.
type SimpleRequest struct {
	ResponseType        PayloadType
	ResponseSize        int32
	Payload             *Payload
	FillUsername        bool
	FillOauthScope      bool
	ResponseCompressed  *BoolValue
	ResponseStatus      *EchoStatus
	ExpectCompressed    *BoolValue
	FillServerID        bool
	FillGrpclbRouteType bool
	Unknown             []byte
}

func (m *SimpleRequest) MarshalAppend(b []byte) []byte {
	if m.ResponseType != 0 {
		b = pw.AppendInt32(b, 1, int32(m.ResponseType))
	}
	if m.ResponseSize != 0 {
		b = pw.AppendInt32(b, 2, m.ResponseSize)
	}
	if m.Payload != nil {
		b = pw.AppendMessage(b, 3, m.Payload)
	}
	if m.FillUsername {
		b = pw.AppendBool(b, 4, true)
	}
	if m.FillOauthScope {
		b = pw.AppendBool(b, 5, true)
	}
	if m.ResponseCompressed != nil {
		b = pw.AppendMessage(b, 6, m.ResponseCompressed)
	}
	if m.ResponseStatus != nil {
		b = pw.AppendMessage(b, 7, m.ResponseStatus)
	}
	if m.ExpectCompressed != nil {
		b = pw.AppendMessage(b, 8, m.ExpectCompressed)
	}
	if m.FillServerID {
		b = pw.AppendBool(b, 9, true)
	}
	if m.FillGrpclbRouteType {
		b = pw.AppendBool(b, 10, true)
	}
	return append(b, m.Unknown...)
}

func (m *SimpleRequest) Unmarshal(b []byte) error { *m = SimpleRequest{}; return m.Merge(b) }
func (m *SimpleRequest) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Varint):
			m.ResponseType = PayloadType(r.Int32())
		case pw.MakeTag(2, pw.Varint):
			m.ResponseSize = r.Int32()
		case pw.MakeTag(3, pw.Len):
			m.Payload = mergeInto(&r, m.Payload)
		case pw.MakeTag(4, pw.Varint):
			m.FillUsername = r.Bool()
		case pw.MakeTag(5, pw.Varint):
			m.FillOauthScope = r.Bool()
		case pw.MakeTag(6, pw.Len):
			m.ResponseCompressed = mergeInto(&r, m.ResponseCompressed)
		case pw.MakeTag(7, pw.Len):
			m.ResponseStatus = mergeInto(&r, m.ResponseStatus)
		case pw.MakeTag(8, pw.Len):
			m.ExpectCompressed = mergeInto(&r, m.ExpectCompressed)
		case pw.MakeTag(9, pw.Varint):
			m.FillServerID = r.Bool()
		case pw.MakeTag(10, pw.Varint):
			m.FillGrpclbRouteType = r.Bool()
		default:
			m.Unknown = r.AppendUnknown(m.Unknown)
		}
	}
	return r.Err()
}

// mergeInto merges the current embedded-message field into *m, making
// it first if the field was absent: the spec's merge of a repeated
// singular message field.
func mergeInto[T any, PT interface {
	*T
	pw.Merger
}](r *pw.Reader, m PT) PT {
	if m == nil {
		m = PT(new(T))
	}
	r.Merge(m)
	return m
}

// SimpleResponse is grpc.testing.SimpleResponse.
type SimpleResponse struct {
	Payload         *Payload
	Username        string
	OauthScope      string
	ServerID        string
	GrpclbRouteType int32
	Hostname        string
	Unknown         []byte
}

func (m *SimpleResponse) MarshalAppend(b []byte) []byte {
	if m.Payload != nil {
		b = pw.AppendMessage(b, 1, m.Payload)
	}
	for _, f := range []struct {
		num pw.Number
		s   string
	}{{2, m.Username}, {3, m.OauthScope}, {4, m.ServerID}} {
		if f.s != "" {
			b = pw.AppendString(b, f.num, f.s)
		}
	}
	if m.GrpclbRouteType != 0 {
		b = pw.AppendInt32(b, 5, m.GrpclbRouteType)
	}
	if m.Hostname != "" {
		b = pw.AppendString(b, 6, m.Hostname)
	}
	return append(b, m.Unknown...)
}

func (m *SimpleResponse) Unmarshal(b []byte) error { *m = SimpleResponse{}; return m.Merge(b) }
func (m *SimpleResponse) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Len):
			m.Payload = mergeInto(&r, m.Payload)
		case pw.MakeTag(2, pw.Len):
			m.Username = r.Text()
		case pw.MakeTag(3, pw.Len):
			m.OauthScope = r.Text()
		case pw.MakeTag(4, pw.Len):
			m.ServerID = r.Text()
		case pw.MakeTag(5, pw.Varint):
			m.GrpclbRouteType = r.Int32()
		case pw.MakeTag(6, pw.Len):
			m.Hostname = r.Text()
		default:
			m.Unknown = r.AppendUnknown(m.Unknown)
		}
	}
	return r.Err()
}

// StreamingInputCallRequest is grpc.testing.StreamingInputCallRequest.
type StreamingInputCallRequest struct {
	Payload          *Payload
	ExpectCompressed *BoolValue
	Unknown          []byte
}

func (m *StreamingInputCallRequest) MarshalAppend(b []byte) []byte {
	if m.Payload != nil {
		b = pw.AppendMessage(b, 1, m.Payload)
	}
	if m.ExpectCompressed != nil {
		b = pw.AppendMessage(b, 2, m.ExpectCompressed)
	}
	return append(b, m.Unknown...)
}

func (m *StreamingInputCallRequest) Unmarshal(b []byte) error {
	*m = StreamingInputCallRequest{}
	return m.Merge(b)
}

func (m *StreamingInputCallRequest) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Len):
			m.Payload = mergeInto(&r, m.Payload)
		case pw.MakeTag(2, pw.Len):
			m.ExpectCompressed = mergeInto(&r, m.ExpectCompressed)
		default:
			m.Unknown = r.AppendUnknown(m.Unknown)
		}
	}
	return r.Err()
}

// StreamingInputCallResponse is grpc.testing.StreamingInputCallResponse.
type StreamingInputCallResponse struct {
	AggregatedPayloadSize int32
	Unknown               []byte
}

func (m *StreamingInputCallResponse) MarshalAppend(b []byte) []byte {
	if m.AggregatedPayloadSize != 0 {
		b = pw.AppendInt32(b, 1, m.AggregatedPayloadSize)
	}
	return append(b, m.Unknown...)
}

func (m *StreamingInputCallResponse) Unmarshal(b []byte) error {
	*m = StreamingInputCallResponse{}
	return m.Merge(b)
}

func (m *StreamingInputCallResponse) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Varint):
			m.AggregatedPayloadSize = r.Int32()
		default:
			m.Unknown = r.AppendUnknown(m.Unknown)
		}
	}
	return r.Err()
}

// ResponseParameters is grpc.testing.ResponseParameters: one response to
// send, its size and the pause before it.
type ResponseParameters struct {
	Size       int32
	IntervalUs int32
	Compressed *BoolValue
	Unknown    []byte
}

func (m *ResponseParameters) MarshalAppend(b []byte) []byte {
	if m.Size != 0 {
		b = pw.AppendInt32(b, 1, m.Size)
	}
	if m.IntervalUs != 0 {
		b = pw.AppendInt32(b, 2, m.IntervalUs)
	}
	if m.Compressed != nil {
		b = pw.AppendMessage(b, 3, m.Compressed)
	}
	return append(b, m.Unknown...)
}

func (m *ResponseParameters) Unmarshal(b []byte) error {
	*m = ResponseParameters{}
	return m.Merge(b)
}

func (m *ResponseParameters) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Varint):
			m.Size = r.Int32()
		case pw.MakeTag(2, pw.Varint):
			m.IntervalUs = r.Int32()
		case pw.MakeTag(3, pw.Len):
			m.Compressed = mergeInto(&r, m.Compressed)
		default:
			m.Unknown = r.AppendUnknown(m.Unknown)
		}
	}
	return r.Err()
}

// StreamingOutputCallRequest is grpc.testing.StreamingOutputCallRequest.
// Field 8 (an ORCA report) travels as an unknown field.
type StreamingOutputCallRequest struct {
	ResponseType       PayloadType
	ResponseParameters []*ResponseParameters
	Payload            *Payload
	ResponseStatus     *EchoStatus
	Unknown            []byte
}

func (m *StreamingOutputCallRequest) MarshalAppend(b []byte) []byte {
	if m.ResponseType != 0 {
		b = pw.AppendInt32(b, 1, int32(m.ResponseType))
	}
	for _, p := range m.ResponseParameters {
		b = pw.AppendMessage(b, 2, p)
	}
	if m.Payload != nil {
		b = pw.AppendMessage(b, 3, m.Payload)
	}
	if m.ResponseStatus != nil {
		b = pw.AppendMessage(b, 7, m.ResponseStatus)
	}
	return append(b, m.Unknown...)
}

func (m *StreamingOutputCallRequest) Unmarshal(b []byte) error {
	*m = StreamingOutputCallRequest{}
	return m.Merge(b)
}

func (m *StreamingOutputCallRequest) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Varint):
			m.ResponseType = PayloadType(r.Int32())
		case pw.MakeTag(2, pw.Len):
			p := new(ResponseParameters)
			r.Merge(p)
			m.ResponseParameters = append(m.ResponseParameters, p)
		case pw.MakeTag(3, pw.Len):
			m.Payload = mergeInto(&r, m.Payload)
		case pw.MakeTag(7, pw.Len):
			m.ResponseStatus = mergeInto(&r, m.ResponseStatus)
		default:
			m.Unknown = r.AppendUnknown(m.Unknown)
		}
	}
	return r.Err()
}

// StreamingOutputCallResponse is grpc.testing.StreamingOutputCallResponse.
type StreamingOutputCallResponse struct {
	Payload *Payload
	Unknown []byte
}

func (m *StreamingOutputCallResponse) MarshalAppend(b []byte) []byte {
	if m.Payload != nil {
		b = pw.AppendMessage(b, 1, m.Payload)
	}
	return append(b, m.Unknown...)
}

func (m *StreamingOutputCallResponse) Unmarshal(b []byte) error {
	*m = StreamingOutputCallResponse{}
	return m.Merge(b)
}

func (m *StreamingOutputCallResponse) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Len):
			m.Payload = mergeInto(&r, m.Payload)
		default:
			m.Unknown = r.AppendUnknown(m.Unknown)
		}
	}
	return r.Err()
}
