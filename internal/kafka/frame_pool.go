package kafka

import (
	"math/bits"
	"sync"
)

// Produce request frames from 129 bytes to 8 MiB come from power-of-two
// pools so a producer's steady stream of batches (down to one small record
// per request at linger 0) does not allocate (and zero) a new buffer per
// request; smaller and larger frames are plain allocations.
const (
	minPooledFrame = 8  // 256 B
	maxPooledFrame = 23 // 8 MiB
)

var framePools [maxPooledFrame + 1]sync.Pool

// getFrame returns a buffer with room for n bytes.
func getFrame(n int) *[]byte {
	c := bits.Len(uint(n - 1))
	if n <= 0 || c < minPooledFrame || c > maxPooledFrame {
		b := make([]byte, n)
		return &b
	}
	if v := framePools[c].Get(); v != nil {
		return v.(*[]byte)
	}
	b := make([]byte, 1<<c)
	return &b
}

// putFrame returns a buffer from getFrame; nil and unpooled sizes are
// ignored. The caller must hold no reference into it.
func putFrame(f *[]byte) {
	if f == nil {
		return
	}
	c := bits.Len(uint(cap(*f) - 1))
	if cap(*f) != 1<<c || c < minPooledFrame || c > maxPooledFrame {
		return
	}
	framePools[c].Put(f)
}
