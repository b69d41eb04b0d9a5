package kv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// MaxLine bounds one JSON line, newline included: the largest value
// escaped six bytes per byte (\u00XX) at worst, plus the other fields.
const MaxLine = 6*(MaxKey+MaxValue) + 256

// jsonMessage is a Message as the text twin spells it.
type jsonMessage struct {
	V      uint8  `json:"v"`
	Type   string `json:"type"`
	ID     uint32 `json:"id"`
	Status string `json:"status,omitempty"`
	Key    string `json:"key,omitempty"`
	TTL    int64  `json:"ttl_ms,omitempty"`
	Value  string `json:"value,omitempty"`
}

// AppendJSON appends m to b as one JSON object and a newline. The value
// must be valid UTF-8: JSON strings cannot carry arbitrary bytes.
func (m *Message) AppendJSON(b []byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return b, err
	}
	if !utf8.Valid(m.Value) || !utf8.ValidString(m.Key) {
		return b, fmt.Errorf("%w: key or value is not UTF-8 text", ErrMalformed)
	}
	j := jsonMessage{V: m.Version, Type: m.Type.String(), ID: m.ID,
		Key: m.Key, TTL: int64(m.TTL / time.Millisecond), Value: string(m.Value)}
	if m.Type.IsReply() {
		j.Status = m.Status.String()
	}
	out, err := json.Marshal(j)
	if err != nil {
		return b, err
	}
	return append(append(b, out...), '\n'), nil
}

// typesByName and statusByName invert Type.String and Status.String.
var (
	typesByName = map[string]Type{
		"get": Get, "set": Set, "delete": Delete,
		"get-reply": Get.Reply(), "set-reply": Set.Reply(),
		"delete-reply": Delete.Reply(),
	}
	statusByName = map[string]Status{
		"ok": StatusOK, "not-found": StatusNotFound,
		"bad-request":         StatusBadRequest,
		"unsupported-version": StatusUnsupportedVersion, "full": StatusFull,
	}
)

// DecodeJSON decodes one line of the text twin (with or without its
// newline). It applies the binary decoder's rules, and rejects unknown
// fields, so both twins accept the same messages. Errors wrap ErrTooLarge,
// ErrVersion or ErrMalformed; the id is returned when it could be read, so
// a server can answer it.
func DecodeJSON(line []byte) (Message, error) {
	if len(line) > MaxLine {
		return Message{}, fmt.Errorf("%w: line of %d bytes", ErrTooLarge, len(line))
	}
	var j jsonMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	err := dec.Decode(&j)
	// An unknown field does not stop encoding/json filling the known
	// ones, so the id and type are there to answer.
	m := Message{Version: j.V, ID: j.ID, Type: typesByName[j.Type]}
	if err != nil {
		return m, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return m, fmt.Errorf("%w: more than one object on a line", ErrMalformed)
	}
	m.Type = 0
	if m.Version < Version1 || m.Version > MaxVersion {
		return m, fmt.Errorf("%w: %d (this side speaks %d to %d)", ErrVersion,
			m.Version, Version1, MaxVersion)
	}
	t, ok := typesByName[j.Type]
	if !ok {
		// An unknown type is spelled as Type.String does: "type(0x85)".
		var n uint8
		if _, err := fmt.Sscanf(j.Type, "type(%v)", &n); err != nil ||
			fmt.Sprintf("type(%#x)", n) != j.Type {
			return m, fmt.Errorf("%w: unknown type %q", ErrMalformed, j.Type)
		}
		t = Type(n)
	}
	m.Type = t
	if j.Status != "" || t.IsReply() {
		s, ok := statusByName[j.Status]
		if !ok {
			return m, fmt.Errorf("%w: unknown status %q", ErrMalformed, j.Status)
		}
		m.Status = s
	}
	if j.TTL < 0 || j.TTL > int64(MaxTTL/time.Millisecond) {
		return m, fmt.Errorf("%w: ttl_ms %d", ErrMalformed, j.TTL)
	}
	m.Key, m.TTL = j.Key, time.Duration(j.TTL)*time.Millisecond
	if j.Value != "" {
		m.Value = []byte(j.Value)
	}
	if err := m.check(); err != nil {
		return m, err
	}
	return m, nil
}
