package tollgate

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// requestIDLength is the length of a UUID in its canonical text form.
const requestIDLength = 36

// v7Epoch anchors the wall clock that UUIDv7s carry: reading the
// monotonic clock against it costs one clock read instead of the two of
// time.Now, and a step of the wall clock cannot send IDs backwards.
var v7Epoch = time.Now()

// v7Last is the last timestamp handed out, in v7Time's units, so that IDs
// made in the same process strictly increase even within a millisecond.
var v7Last atomic.Int64

// v7Time returns the next UUIDv7 timestamp: Unix milliseconds shifted left
// by 12 bits plus the fraction of the millisecond in 4,096ths (RFC 9562's
// "replace leftmost random bits with increased clock precision"), bumped
// past the previous one when the clock has not moved. It is lock-free.
func v7Time() int64 {
	nano := v7Epoch.UnixNano() + int64(time.Since(v7Epoch))
	milli := nano / 1e6
	t := milli<<12 + (nano-milli*1e6)*4096/1e6
	for {
		last := v7Last.Load()
		next := max(t, last+1)
		if v7Last.CompareAndSwap(last, next) {
			return next
		}
	}
}

const hexDigits = "0123456789abcdef"

// putRequestID writes a new UUIDv7 into b in canonical text form. The 62
// random bits come from the runtime's per-thread ChaCha8 generator, which
// is seeded from the operating system: unpredictable enough for an ID, and
// lock-free.
func putRequestID(b *[requestIDLength]byte) {
	var u [16]byte
	t := v7Time()
	ms := uint64(t >> 12)
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 | byte(t>>8)&0x0f
	u[7] = byte(t)
	r := rand.Uint64()
	for i := range 8 {
		u[8+i] = byte(r >> (56 - 8*i))
	}
	u[8] = 0x80 | u[8]&0x3f
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&0x0f]
		j += 2
	}
}

// NewRequestID returns a new UUIDv7 in its canonical text form. UUIDv7s sort
// by creation time, which keeps logs and database indexes in order; those
// made by one process strictly increase. It is safe for concurrent use.
func NewRequestID() string {
	var b [requestIDLength]byte
	putRequestID(&b)
	return string(b[:])
}
