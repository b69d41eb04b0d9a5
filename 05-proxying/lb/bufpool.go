package lb

import "sync"

// BufferPool lends httputil.ReverseProxy the 32 KiB buffers it copies
// response bodies through, so that each response does not allocate one
// (and the garbage collector does not have to find it).
type BufferPool struct{ p sync.Pool }

// Get returns a 32 KiB buffer.
func (b *BufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

// Put returns a buffer for reuse.
func (b *BufferPool) Put(buf []byte) { b.p.Put(&buf) }
