package main

import (
	"fmt"
	"sync"
	"unicode/utf8"

	"backend-protocols/02-protocols/grpc/grpcwire"
	pw "backend-protocols/02-protocols/grpc/protowire"
)

// The messages of todo.proto, written by hand with protowire.

// VoidNoParam is todoPackage.voidNoParam, the empty request.
type VoidNoParam struct {
	unknown []byte
}

func (m *VoidNoParam) MarshalAppend(b []byte) []byte { return append(b, m.unknown...) }
func (m *VoidNoParam) Unmarshal(b []byte) error {
	*m = VoidNoParam{}
	r := pw.NewReader(b)
	for r.Next() {
		m.unknown = r.AppendUnknown(m.unknown)
	}
	return r.Err()
}

// TodoItem is todoPackage.TodoItem.
type TodoItem struct {
	ID      int32
	Text    string
	unknown []byte
}

func (m *TodoItem) MarshalAppend(b []byte) []byte {
	if m.ID != 0 {
		b = pw.AppendInt32(b, 1, m.ID)
	}
	if m.Text != "" {
		b = pw.AppendString(b, 2, m.Text)
	}
	return append(b, m.unknown...)
}

func (m *TodoItem) Unmarshal(b []byte) error { *m = TodoItem{}; return m.Merge(b) }

// Merge decodes b into m, keeping what m holds (the embedded-message rule).
func (m *TodoItem) Merge(b []byte) error {
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Varint):
			m.ID = r.Int32()
		case pw.MakeTag(2, pw.Len):
			m.Text = r.Text()
		default:
			m.unknown = r.AppendUnknown(m.unknown)
		}
	}
	return r.Err()
}

func (m *TodoItem) String() string { return fmt.Sprintf(`{"id":%d,"text":%q}`, m.ID, m.Text) }

// TodoItems is todoPackage.TodoItems.
type TodoItems struct {
	Items   []*TodoItem
	unknown []byte
}

func (m *TodoItems) MarshalAppend(b []byte) []byte {
	for _, it := range m.Items {
		b = pw.AppendMessage(b, 1, it)
	}
	return append(b, m.unknown...)
}

func (m *TodoItems) Unmarshal(b []byte) error {
	*m = TodoItems{}
	r := pw.NewReader(b)
	for r.Next() {
		switch r.Tag() {
		case pw.MakeTag(1, pw.Len):
			it := new(TodoItem)
			r.Merge(it)
			m.Items = append(m.Items, it)
		default:
			m.unknown = r.AppendUnknown(m.unknown)
		}
	}
	return r.Err()
}

// Limits on what clients may store.
const (
	maxTodos    = 10000
	maxTodoText = 1024
)

// todos is the course's to-do service: an in-memory list that createTodo
// appends to and readTodos and readTodosStream return.
type todos struct {
	mu    sync.Mutex
	items []*TodoItem
}

// register adds todoPackage.Todo to srv.
func (t *todos) register(srv *grpcwire.Server) {
	srv.Register("todoPackage.Todo", map[string]grpcwire.Handler{
		"createTodo":      grpcwire.Unary(t.create),
		"readTodos":       grpcwire.Unary(t.read),
		"readTodosStream": grpcwire.ServerStreaming(t.stream),
	})
}

// create stores a to-do and gives it the next id, as the course's server
// does (the id the client sent, -1, is ignored).
func (t *todos) create(s *grpcwire.ServerStream, in *TodoItem) (grpcwire.Message, error) {
	switch n := len(in.Text); {
	case n == 0:
		return nil, grpcwire.Errorf(grpcwire.InvalidArgument,
			"a to-do needs text — «%s» is empty", in.Text)
	case n > maxTodoText || !utf8.ValidString(in.Text):
		return nil, grpcwire.Errorf(grpcwire.InvalidArgument,
			"to-do text is %d bytes; at most %d", n, maxTodoText)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.items) >= maxTodos {
		return nil, grpcwire.Errorf(grpcwire.ResourceExhausted, "%d to-dos is enough", maxTodos)
	}
	it := &TodoItem{ID: int32(len(t.items) + 1), Text: in.Text}
	t.items = append(t.items, it)
	return it, nil
}

func (t *todos) snapshot() []*TodoItem {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*TodoItem(nil), t.items...)
}

func (t *todos) read(s *grpcwire.ServerStream, _ *VoidNoParam) (grpcwire.Message, error) {
	return &TodoItems{Items: t.snapshot()}, nil
}

// stream sends every to-do as its own message, then ends the call.
func (t *todos) stream(s *grpcwire.ServerStream, _ *VoidNoParam) error {
	for _, it := range t.snapshot() {
		if err := s.Send(it); err != nil {
			return err
		}
	}
	return nil
}
