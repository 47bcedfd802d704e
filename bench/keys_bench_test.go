package bench

import (
	"net/http"
	"runtime"
	"strconv"
	"testing"
)

// millionKeys is how many distinct keys BenchmarkMillionKeys sends.
const millionKeys = 1_000_000

// BenchmarkMillionKeys sends one request for each of 1,000,000 distinct
// keys through each limiter (100 per hour per key, so every request is
// allowed) and reports, besides ns/key, the heap the limiter still holds
// per key after a garbage collection: heapB/key. The key is a fresh string
// per request, as a header value is, so a limiter that keeps it pays for
// it; one that keeps a hash does not. One iteration is the whole million:
// run it with -benchtime=1x.
func BenchmarkMillionKeys(b *testing.B) {
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			var perKey float64
			for b.Loop() {
				b.StopTimer()
				perKey = millionKeysOnce(b, c)
				b.StartTimer()
			}
			b.ReportMetric(perKey, "heapB/key")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*millionKeys), "ns/key")
			b.ReportMetric(0, "ns/op") // one op is a million keys; ns/key says it
		})
	}
}

// millionKeysOnce builds c afresh, sends the million keys through it with
// the timer running, and returns the heap retained per key.
func millionKeysOnce(b *testing.B, c contender) float64 {
	h := c.build(b, 100, ok)
	r := newRequest("")
	value := r.Header[keyHeader]
	w := &discard{}
	before := liveHeap()
	b.StartTimer()
	buf := make([]byte, 0, 16)
	for i := range millionKeys {
		buf = strconv.AppendInt(append(buf[:0], "key_"...), int64(i), 10)
		value[0] = string(buf)
		w.reset()
		h.ServeHTTP(w, r)
	}
	b.StopTimer()
	if w.status != http.StatusOK {
		b.Fatalf("%s: last key answered %d, want 200", c.name, w.status)
	}
	w.h, value[0] = nil, ""
	after := liveHeap()
	runtime.KeepAlive(h)
	return float64(after-before) / millionKeys
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
